"""What the procedure catalog says about one step, with a fallback when it says nothing.

Reform works without a catalog (less to say, never wrong): an unknown step gets its label
from the activity name and no claims about presence, paper or data reuse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings


@dataclass(frozen=True)
class StepInfo:
    code: str
    label_vi: str
    label_en: str
    kind: str | None  # catalog kind, None when unknown
    actor: str | None
    citizen_facing: bool
    requires_presence: bool
    paper: bool
    replaceable_by_data: str | None
    optional: bool
    order: int  # statutory position, 999 when unknown
    known: bool  # the catalog describes this step
    required: bool = False  # the law requires it (catalog); see ``requirement`` for logs
    legal_basis: str | None = None
    legal_basis_verified: bool = False
    is_result: bool = False  # produces or returns the procedure's result
    interconnect: str | None = None  # database an interconnection could replace it by

    @property
    def is_request_supplement(self) -> bool:
        if self.known:
            return self.kind == "supplement" and self.actor != "citizen"
        return self.code == "request_supplement"

    def as_dict(self) -> dict:
        return asdict(self)


DATABASES = {
    "population_db": ("Cơ sở dữ liệu quốc gia về dân cư", "national population database"),
    "vneid": ("định danh điện tử VNeID", "VNeID electronic identity"),
    "business_registry": (
        "Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp",
        "national business registration database",
    ),
    "land_db": ("Cơ sở dữ liệu đất đai quốc gia", "national land database"),
    "civil_status_db": ("Cơ sở dữ liệu hộ tịch điện tử", "electronic civil-status database"),
    "health_db": ("Cơ sở dữ liệu y tế (giấy chứng sinh điện tử)", "health database (e-records)"),
    "insurance_db": ("Cơ sở dữ liệu quốc gia về bảo hiểm", "national insurance database"),
}


def database_label(code: str | None) -> tuple[str, str] | None:
    if code is None:
        return None
    return DATABASES.get(code, (code, code))


def _procedure(code: str, settings: Settings | None):  # -> catalog.Procedure | None
    try:
        from sample_logs.catalog import get_procedure
    except ImportError:  # catalog package not installed: reform still works
        return None
    try:
        return get_procedure(code, settings)
    except DvcflowError:
        return None


def result_steps(code: str, settings: Settings | None = None) -> frozenset[str]:
    """The steps a what-if may not remove (empty when the catalog does not know ``code``)."""
    proc = _procedure(code, settings)
    return frozenset() if proc is None else proc.result_steps


def procedure_name(code: str, settings: Settings | None = None) -> dict[str, str]:
    proc = _procedure(code, settings)
    if proc is None:
        return {"vi": code, "en": code}
    return {"vi": proc.name.vi, "en": proc.name.en}


def procedure_deadline(code: str, settings: Settings | None = None) -> int | None:
    proc = _procedure(code, settings)
    return None if proc is None else proc.deadline_working_days


def procedure_has_fee(code: str, settings: Settings | None = None) -> bool | None:
    proc = _procedure(code, settings)
    return None if proc is None else proc.fee


def step_info(procedure: str, activity: str, settings: Settings | None = None) -> StepInfo:
    proc = _procedure(procedure, settings)
    step = proc.step(activity) if proc is not None else None
    if step is None:
        return StepInfo(
            code=activity,
            label_vi=activity,
            label_en=activity,
            kind="supplement" if "supplement" in activity.lower() else None,
            actor=None,
            citizen_facing=False,
            requires_presence=False,
            paper=False,
            replaceable_by_data=None,
            optional=False,
            order=999,
            known=False,
        )
    return StepInfo(
        code=step.code,
        label_vi=step.label.vi,
        label_en=step.label.en,
        kind=str(step.kind.value),
        actor=str(step.actor.value),
        citizen_facing=step.citizen_facing,
        requires_presence=step.requires_presence,
        paper=step.paper,
        replaceable_by_data=step.replaceable_by_data,
        optional=step.optional,
        order=proc.step_codes.index(step.code),
        known=True,
        required=step.required,
        legal_basis=step.legal_basis,
        legal_basis_verified=step.legal_basis_verified,
        is_result=step.code in proc.result_steps,
        interconnect=step.interconnect,
    )
