"""Which steps the law requires, and which produce the result: from the catalog, or inferred.

A required step is never advised for removal or merge (it may be automated, done by data
reuse or waited on less). Where the catalog does not know a step, the log speaks: a step that
every finished dossier passes before its result is treated as required, unless dossiers that
skipped it did no worse; the advice then says the requirement is inferred. The result step
(inferred: the step finished dossiers most often end with) can never be removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mining.reform.catalog_view import result_steps
from mining.reform.steps import StepLog


@dataclass(frozen=True)
class Requirement:
    required: bool
    inferred: bool  # from the log, the catalog being silent
    is_result: bool  # produces or returns the procedure's result
    legal_basis: str | None = None
    legal_basis_verified: bool = False

    def as_dict(self) -> dict:
        return {
            "required": self.required,
            "required_inferred": self.inferred,
            "is_result": self.is_result,
            "legal_basis": self.legal_basis,
            "legal_basis_verified": self.legal_basis_verified,
        }


def requirements(log: StepLog, proc: str, skip_no_worse: dict[str, bool]) -> dict[str, Requirement]:
    """Per activity of ``proc``: what the catalog says, else what the log implies.

    ``skip_no_worse``: per activity, whether enough dossiers skipped it with no worse outcome
    (the evidence that overrides an inferred requirement)."""
    acts = [a for p, a in log.info if p == proc]
    inferred = _inferred(log, proc)
    out: dict[str, Requirement] = {}
    for act in acts:
        si = log.info[(proc, act)]
        if si.known:
            out[act] = Requirement(
                required=si.required or si.is_result,
                inferred=False,
                is_result=si.is_result,
                legal_basis=si.legal_basis,
                legal_basis_verified=si.legal_basis_verified,
            )
            continue
        passes, is_result = inferred.get(act, (False, False))
        out[act] = Requirement(
            required=is_result or (passes and not skip_no_worse.get(act, False)),
            inferred=True,
            is_result=is_result,
        )
    return out


def result_steps_of(log: StepLog, proc: str) -> frozenset[str]:
    """The steps a what-if may not remove: the catalog's result steps, else the inferred one."""
    known = result_steps(proc, log.settings)
    if known:
        return known
    return frozenset(a for a, (_, is_result) in _inferred(log, proc).items() if is_result)


def _inferred(log: StepLog, proc: str) -> dict[str, tuple[bool, bool]]:
    """activity -> (every finished dossier passes it before its result, it is the result)."""
    cases = log.cases[(log.cases["procedure_code"] == proc) & log.cases["finished"].astype(bool)]
    if cases.empty:
        return {}
    steps = log.steps.loc[
        log.steps["case_id"].isin(cases.index.to_numpy()), ["case_id", "activity", "seq"]
    ]
    last = steps.sort_values(["case_id", "seq"]).groupby("case_id")["activity"].last()
    result = str(last.mode().iloc[0])
    result_seq = steps[steps["activity"] == result].groupby("case_id")["seq"].max()
    first_seq = steps.groupby(["activity", "case_id"])["seq"].min()
    share = log.settings.reform_inferred_required_share
    out: dict[str, tuple[bool, bool]] = {}
    for act, per_case in first_seq.groupby(level=0):
        seqs = per_case.droplevel(0)
        before = seqs.reindex(result_seq.index) < result_seq  # missing: not before
        before_share = float(before.mean()) if len(before) else 0.0
        passes = len(seqs) >= share * len(cases) and (act == result or before_share >= share)
        out[str(act)] = (passes, act == result)
    return out


def required_reason(req: Requirement, action_vi: str, action_en: str) -> dict[str, str]:
    """The sentence that says why a step is kept, naming the law (or the inference)."""
    if req.inferred:
        return {
            "vi": "Mọi hồ sơ đã kết thúc đều qua bước này trước khi có kết quả nên được coi là "
            f"bước bắt buộc (suy ra từ dữ liệu, không có danh mục): không đề xuất bỏ; {action_vi}.",
            "en": "Every finished dossier passes this step before its result, so it is treated "
            f"as required (inferred from the log, no catalog): not advised for removal; "
            f"{action_en}.",
        }
    basis = req.legal_basis or "danh mục thủ tục"
    check = "" if req.legal_basis_verified else " — trích dẫn chưa được kiểm chứng"
    check_en = "" if req.legal_basis_verified else " — citation not verified"
    return {
        "vi": f"Bước do pháp luật quy định ({basis}{check}): không đề xuất bỏ hay gộp; "
        f"{action_vi}.",
        "en": f"The law requires this step ({req.legal_basis or 'procedure catalog'}{check_en}): "
        f"not advised for removal or merge; {action_en}.",
    }
