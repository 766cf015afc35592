"""The procedure catalog: one versioned JSON file per procedure, validated on load.

Reform analysis reads it to know which steps face the citizen, need presence or paper, which
national database could replace them, which the law requires (a required step is never
advised for removal) and which step produces the result; the generator walks its steps.
A wrong file raises ``CatalogError`` naming the file and the field, never a pydantic traceback.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, or_environment

PACKAGED_DIR = Path(__file__).resolve().parent / "catalog"
CODE_PATTERN = r"^\d\.\d{6}$"


class CatalogError(DvcflowError):
    """A catalog file is missing, unreadable or breaks the schema."""


class StepKind(StrEnum):
    submission = "submission"
    verification = "verification"
    appraisal = "appraisal"
    approval = "approval"
    payment = "payment"
    result = "result"
    supplement = "supplement"
    transfer = "transfer"


class Actor(StrEnum):
    citizen = "citizen"
    officer = "officer"
    system = "system"


class Level(StrEnum):
    commune = "commune"
    province = "province"


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vi: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class Step(BaseModel):
    """One statutory step; its ``code`` is the event ``activity``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    label: Label
    kind: StepKind
    actor: Actor
    citizen_facing: bool
    requires_presence: bool = False
    paper: bool = False
    replaceable_by_data: str | None = None
    optional: bool = False
    repeatable: bool = False
    # The law requires this step (it may still be automated, done by data reuse or waited
    # on less, never removed or merged); ``legal_basis`` names the text, and
    # ``legal_basis_verified`` stays false until someone checked the article in force.
    required: bool = False
    legal_basis: Annotated[str, Field(min_length=3)] | None = None
    legal_basis_verified: bool = False
    # A transfer that an interconnection with this national database/system could replace.
    interconnect: str | None = None
    # Where the step runs: "commune" -> C<commune>, "commune.CA" -> C<commune>.CA,
    # "province.STNMT" -> P<province>.STNMT. None: the procedure's home unit.
    unit: Annotated[str, Field(pattern=r"^(commune|province)(\.[A-Z0-9]+)?$")] | None = None


class Procedure(BaseModel):
    """One administrative procedure (thủ tục hành chính) and its steps in statutory order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, Field(pattern=CODE_PATTERN)]
    code_verified: bool = True
    version: str
    name: Label
    level: Level
    home_unit: Annotated[str, Field(pattern=r"^(commune|province)(\.[A-Z0-9]+)?$")]
    deadline_working_days: Annotated[int, Field(ge=0, le=365)]
    deadline_working_days_verification: Annotated[int, Field(ge=0, le=365)] | None = None
    fee: bool = False
    legal_basis: str | None = None
    # The step that produces the procedure's result (a decision, a certificate, a card).
    result_step: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    steps: Annotated[list[Step], Field(min_length=2)]

    @model_validator(mode="after")
    def _coherent(self) -> Procedure:
        codes = [s.code for s in self.steps]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"step codes must be unique, repeated: {', '.join(dup)}")
        if self.steps[0].kind is not StepKind.submission:
            raise ValueError("the first step must be of kind 'submission'")
        if not any(s.kind is StepKind.result for s in self.steps):
            raise ValueError("a procedure needs a step of kind 'result'")
        result = self.step(self.result_step)
        if result is None:
            raise ValueError(
                f"result_step {self.result_step!r} is not one of the steps ({', '.join(codes)})"
            )
        if result.optional:
            raise ValueError(f"result_step {self.result_step!r} cannot be optional")
        for s in self.steps:
            if s.required and s.optional:
                raise ValueError(f"step {s.code!r} cannot be both required and optional")
            if s.legal_basis_verified and not s.legal_basis:
                raise ValueError(f"step {s.code!r}: legal_basis_verified without a legal_basis")
        return self

    def step(self, code: str) -> Step | None:
        for s in self.steps:
            if s.code == code:
                return s
        return None

    @property
    def step_codes(self) -> list[str]:
        return [s.code for s in self.steps]

    @property
    def result_steps(self) -> frozenset[str]:
        """The steps without which there is no result: the one producing it and those
        returning it (kind ``result``). A what-if may not remove them."""
        return frozenset(
            {self.result_step, *(s.code for s in self.steps if s.kind is StepKind.result)}
        )

    @property
    def mandatory_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.optional]

    def unit_code(self, unit: str | None, province: str, commune: str) -> str:
        """The org unit code of a step run at ``unit`` for a dossier of this commune."""
        where, _, dept = (unit or self.home_unit).partition(".")
        base = f"C{commune}" if where == "commune" else f"P{province}"
        return f"{base}.{dept}" if dept else base


def _field_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(file)"


def load_procedure(path: Path) -> Procedure:
    """One catalog file -> ``Procedure``; ``CatalogError`` names the file and the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"catalog file {path} cannot be read: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"catalog file {path} is not valid JSON (line {exc.lineno}: {exc.msg})."
        ) from None
    try:
        proc = Procedure.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CatalogError(
            f"catalog file {path}: field {_field_path(err['loc'])}: {err['msg']}{more}."
        ) from None
    if path.stem != proc.code:
        raise CatalogError(
            f"catalog file {path}: field code is {proc.code!r} but the file must be named "
            f"after it ({proc.code}.json)."
        )
    return proc


def catalog_dir(settings: Settings | None = None) -> Path:
    """``settings.catalog_dir`` when set, else the folder shipped with the package (without
    ``settings``: the environment's, for notebooks)."""
    return or_environment(settings).catalog_dir or PACKAGED_DIR


def load_catalog(
    path: Path | None = None, settings: Settings | None = None
) -> dict[str, Procedure]:
    """All procedures of a catalog folder (default: ``catalog_dir(settings)``), keyed by
    code, in code order."""
    folder = Path(path) if path is not None else catalog_dir(settings)
    if not folder.is_dir():
        raise CatalogError(f"catalog folder {folder} does not exist (setting catalog_dir).")
    procs = [load_procedure(p) for p in sorted(folder.glob("*.json"))]
    if not procs:
        raise CatalogError(f"catalog folder {folder} holds no <code>.json files.")
    return {p.code: p for p in procs}


@lru_cache(maxsize=8)
def _cached(folder: str) -> dict[str, Procedure]:
    return load_catalog(Path(folder))


def get_procedure(code: str, settings: Settings | None = None) -> Procedure | None:
    """The catalog entry of ``code`` in ``settings``' catalog (None when it does not know
    it)."""
    return _cached(str(catalog_dir(settings))).get(code)
