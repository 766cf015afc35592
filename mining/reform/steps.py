"""Step instances with what the catalog says about them: the unit reform reasons about.

``mining.log`` pairs start/complete events into step instances; reform adds, per instance,
what it cost the dossier (``segment_h``: its completion minus the completion of the step
before it, i.e. waiting before it plus its service time), whether it blocked full-online
service, and whether the check failed (led to a supplement request or a refusal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dvcflow.settings import Settings, or_environment
from mining.reform.catalog_view import StepInfo, step_info
from mining.reform.timing import working_days

TERMINAL_FAIL = ("rejected", "returned")
_CITIZEN_CHANNELS = ("online", "counter", "postal")


@dataclass(frozen=True)
class StepLog:
    """Step instances of a filtered log plus one row per dossier."""

    steps: pd.DataFrame  # one row per finished step instance, ordered by case and seq
    cases: pd.DataFrame  # one row per dossier, indexed by case_id
    info: dict[tuple[str, str], StepInfo]  # (procedure, activity) -> catalog facts
    # what it was read under (catalog, calendar, time zone): every reform figure on it uses
    # these, so a figure never mixes the environment's settings with the caller's
    settings: Settings
    as_of: object = None  # the log's last event: "now" for open dossiers


def build_step_log(
    steps: pd.DataFrame,
    cases: pd.DataFrame,
    as_of: object = None,
    settings: Settings | None = None,
) -> StepLog:
    """``mining.log`` steps (joined with their completing event) and cases -> ``StepLog``,
    under ``settings`` (without: the environment's, for notebooks)."""
    settings = or_environment(settings)
    inst = steps.reset_index(drop=True).copy()
    inst["segment_h"] = (
        (inst["complete_ts"] - inst["prev_complete"]).dt.total_seconds() / 3600.0
    ).fillna(0.0)
    by_case = inst.groupby("case_id", sort=False)
    inst["next_activity"] = by_case["activity"].shift(-1)
    inst["next_outcome"] = by_case["outcome"].shift(-1)
    segment = working_days(inst["prev_complete"], inst["complete_ts"], settings)
    inst["segment_wd"] = segment.fillna(0.0)
    # the wait before the step in working days (an overlap with the previous step: no wait)
    waited_from = inst["prev_complete"].where(inst["prev_complete"] < inst["start_ts"])
    waited = working_days(waited_from, inst["start_ts"], settings)
    inst["wait_wd"] = waited.fillna(0.0).clip(lower=0.0)

    info: dict[tuple[str, str], StepInfo] = {}
    for proc, act in inst[["procedure_code", "activity"]].drop_duplicates().itertuples(False):
        info[(proc, act)] = step_info(proc, act, settings)
    # the catalog facts of each instance's step, looked up by (procedure, activity): a
    # merge would copy every column of the frame
    facts = pd.DataFrame(
        [(si.kind, si.known, si.citizen_facing, si.is_request_supplement) for si in info.values()],
        columns=["kind", "known", "citizen_facing", "is_request_supplement"],
        index=pd.MultiIndex.from_tuples(list(info), names=["procedure_code", "activity"]),
    ).reindex(pd.MultiIndex.from_frame(inst[["procedure_code", "activity"]]))
    guessed = (inst["actor_role"] == "citizen") | inst["channel"].isin(_CITIZEN_CHANNELS)
    known = facts["known"].to_numpy(dtype=bool)
    inst["kind"] = facts["kind"].to_numpy()
    inst["citizen_facing"] = np.where(known, facts["citizen_facing"].to_numpy(), guessed)
    inst["citizen_facing"] = inst["citizen_facing"].astype(bool)
    inst["is_request_supplement"] = facts["is_request_supplement"].to_numpy(dtype=bool)
    inst["blocks_online"] = _blocks_online(inst)
    requests = {act for (_, act), si in info.items() if si.is_request_supplement}
    inst["failed"] = (
        inst["outcome"].isin(TERMINAL_FAIL)
        | inst["next_activity"].isin(requests)
        | inst["next_outcome"].isin(TERMINAL_FAIL)
    ) & ~inst["is_request_supplement"]

    cases = cases.copy()
    cases["cycle_wd"] = working_days(cases["received"], cases["ended"], settings)
    per_case = inst.groupby("case_id")
    cases["blocked"] = per_case["blocks_online"].any().reindex(cases.index, fill_value=False)
    cases["supplements"] = (
        per_case["is_request_supplement"].sum().reindex(cases.index, fill_value=0).astype(int)
    )
    repeats = inst.groupby(["case_id", "activity"]).size().gt(1).groupby(level=0).any()
    cases["rework"] = (cases["supplements"] > 0) | repeats.reindex(cases.index, fill_value=False)
    # Judged for full-online: dossiers whose result was returned (a catalog ``result``
    # step); for procedures the catalog does not know, finished dossiers, provided their
    # log says how steps reached the citizen (a channel other than internal/system).
    has_result = (inst["kind"] == "result").groupby(inst["case_id"]).any()
    known = {p for (p, _), si in info.items() if si.known}
    with_channels = set(inst.loc[inst["channel"].isin(_CITIZEN_CHANNELS), "procedure_code"])
    cases["judged"] = np.where(
        cases["procedure_code"].isin(known),
        has_result.reindex(cases.index, fill_value=False).astype(bool),
        cases["finished"].astype(bool) & cases["procedure_code"].isin(with_channels),
    )
    cases["full_online"] = cases["judged"] & ~cases["blocked"].astype(bool)
    return StepLog(steps=inst, cases=cases, info=info, as_of=as_of, settings=settings)


def _blocks_online(inst: pd.DataFrame) -> pd.Series:
    """A citizen-facing step that was not online (result: online or by post) blocks."""
    channel = inst["channel"].fillna("internal")
    is_result = inst["kind"] == "result"
    offline_result = is_result & (channel == "counter")
    offline_step = ~is_result & channel.isin(["counter", "postal"])
    paid_offline = (inst["kind"] == "payment") & inst["fee_paid_online"].eq(False)
    return inst["citizen_facing"] & (offline_result | offline_step | paid_offline)
