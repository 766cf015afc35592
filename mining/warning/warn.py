"""The morning list: a procedure's open dossiers ranked by the probability that they finish
late, with the expected finish, where each waits, and why.

The model is ``mining.warning.fits``' (kept per store version on disk, retrained in the
background for the web); the open dossiers are rescored at every store version.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from dvcflow.errors import FilterError
from dvcflow.settings import Settings, get_settings
from ingest.store import EventStore
from mining.deadlines import DeadlineRules
from mining.filters import LogFilter
from mining.log import case_ids, cut_log, load_log
from mining.warning.fits import get_fit, pooled_timeline
from mining.warning.quality import rule_scores, rule_status
from mining.warning.reasons import explain, rule_reasons
from mining.warning.results import DossierWarning, UnitCount, Warnings, Words
from mining.warning.timeline import add_case_attributes, read_timeline
from sample_logs import names


def as_of_moment(as_of: date | datetime | None, tz: str) -> datetime | None:
    """A replay date means the store as it was at the end of that day (local time)."""
    if as_of is None:
        return None
    if not isinstance(as_of, datetime):
        as_of = datetime.combine(as_of, dtime(23, 59, 59))
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo(tz))
    return as_of


def _catalog(code: str, settings=None):
    try:
        from sample_logs.catalog import get_procedure

        return get_procedure(code, settings)
    except Exception:  # a broken user catalog: the log has no deadlines then
        return None


def warnings(
    store: EventStore,
    flt: LogFilter,
    *,
    as_of: date | datetime | None = None,
    top: int | None = None,
    settings: Settings | None = None,
    quality: bool = True,
    term_days: float | None = None,
    background: bool = False,
) -> Warnings:
    """The open dossiers of ``flt`` (which must name a procedure) ranked by risk of
    finishing late, as of now or as the store was at ``as_of``. ``background``: answer
    with the last model while a newer one trains (the web; ``mining.warning.fits``)."""
    settings = settings or get_settings()
    if not flt.procedure:
        raise FilterError("is required: a warning model is per procedure", field="procedure")
    code = flt.procedure
    moment = as_of_moment(as_of, settings.timezone)
    rules = DeadlineRules(
        max_supplements_on_time=settings.max_supplements_on_time,
        exclude_supplement_wait=settings.exclude_supplement_wait,
        at_risk_share=settings.at_risk_share,
        same_day_cutoff_hour=settings.same_day_cutoff_hour,
    )
    proc = _catalog(code, settings)
    deadline = proc.deadline_working_days if proc else None
    con = load_log(store, LogFilter(procedure=code), settings=settings)
    if moment is not None:
        cut_log(con, moment)
    tl = read_timeline(con, deadline, rules=rules, as_of=moment, term_days=term_days)
    add_case_attributes(tl, store, code, settings.warning_case_attributes)
    in_scope = set(case_ids(con, flt)) if flt != LogFilter(procedure=code) else None
    con.close()
    fit, retraining = get_fit(
        store, code, tl, moment, settings, rules, quality, term_days, background=background
    )

    began = time.perf_counter()
    tz = ZoneInfo(settings.timezone)
    use = tl
    if fit.method == "pooled":  # scored on the log it was trained on, as it is now
        use = fit.pooled_timeline
        if use is None or fit.version != store.version():
            use = pooled_timeline(store, moment, rules, term_days, settings) or tl
    open_ids = tl.outcomes.index[~tl.outcomes["finished"].to_numpy(bool)]
    if in_scope is not None:
        open_ids = open_ids[open_ids.isin(list(in_scope))]
    points = pd.DataFrame({"case_id": open_ids.to_numpy(), "t": np.full(len(open_ids), tl.now)})
    if fit.model is not None:
        x = fit.model.features(use, points)
        prob = fit.model.probability(x)
        q = fit.model.remaining(x)
    else:
        from mining.warning.features import prefix_features

        x = prefix_features(tl.events, tl.dossiers, points, tl.axis, rules.exclude_supplement_wait)
        prob, q = None, None
    score, flag = rule_scores(x, rules)
    status = rule_status(x, rules)
    flagged = prob >= settings.warning_threshold if prob is not None else flag
    order = np.argsort(-(prob if prob is not None else score), kind="stable")
    reasons = explain(fit.model, x, prob, proc) if fit.model is not None else rule_reasons(x, rules)
    items = []
    shown = order if top is None else order[:top]
    for rank, i in enumerate(shown, start=1):
        items.append(_item(rank, i, x, tl, prob, q, status, reasons, fit.model, proc, tz))
    return Warnings(
        procedure=code,
        procedure_name=Words(vi=proc.name.vi, en=proc.name.en) if proc else None,
        as_of=_local(tl.now, tz),
        method=fit.method,  # type: ignore[arg-type]
        message=fit.message,
        threshold=settings.warning_threshold,
        open_dossiers=len(open_ids),
        flagged=int(np.sum(flagged)),
        items=items,
        by_unit=_by_unit(x, prob, flagged),
        trained_on=fit.model.dossiers if fit.model else 0,
        training_seconds=round(fit.model.seconds, 2) if fit.model else 0.0,
        scoring_seconds=round(time.perf_counter() - began, 3),
        quality=fit.quality,
        store_version=store.version(),
        model_version=fit.version,
        model_trained_at=datetime.fromtimestamp(fit.trained_at, tz),
        retraining=retraining,
    )


def _local(moment: np.datetime64 | None, tz: ZoneInfo) -> datetime | None:
    """A local naive instant of the timeline as an aware datetime."""
    if moment is None or pd.isna(moment):
        return None
    return pd.Timestamp(moment).to_pydatetime().replace(tzinfo=tz)


def _item(rank, i, x, tl, prob, q, status, reasons, model, proc, tz) -> DossierWarning:
    row = x.iloc[i]
    case = row["case_id"]
    d = tl.dossiers.loc[case]
    step = row["last_step"]
    usual = None
    if model is not None and step is not None:
        usual = model.usual_wait.get((step, row["last_unit"])) or model.usual_wait.get((step, None))
    label = None
    if step is not None:
        s = proc.step(step) if proc else None
        label = Words(vi=s.label.vi, en=s.label.en) if s else Words(vi=step, en=step)
    t_pos = tl.axis.pos(np.array([tl.now]))[0]

    def finish(days: float | None) -> datetime | None:
        if days is None:
            return None
        return _local(tl.axis.moment(np.array([t_pos + days]))[0], tz)

    exp = {a: float(v[i]) for a, v in q.items()} if q is not None else {}
    return DossierWarning(
        rank=rank,
        case_id=case,
        procedure=str(d["procedure"]),
        province=d["province"],
        province_name=names.province_name(d["province"]) if d["province"] else None,
        commune=d["commune"],
        commune_name=names.commune_name(d["commune"]) if d["commune"] else None,
        unit=row["last_unit"],
        unit_name=unit_words(row["last_unit"]),
        received=_local(d["received"], tz),
        due=_local(d["due"], tz),
        probability_late=float(prob[i]) if prob is not None else None,
        rule_status=str(status[i]) if not np.isnan(row["span"]) else None,
        deadline_used_share=_num(row["used_share"]),
        working_days_left=_num(row["left"]),
        expected_days=exp.get(0.5),
        expected_days_low=exp.get(0.1),
        expected_days_high=exp.get(0.9),
        expected_finish=finish(exp.get(0.5)),
        expected_finish_low=finish(exp.get(0.1)),
        expected_finish_high=finish(exp.get(0.9)),
        step=step,
        step_label=label,
        step_in_progress=bool(row["in_progress"] == 1),
        waited_days=_num(row["since_last"]),
        usual_wait_days=usual[0] if usual else None,
        usual_wait_p90_days=usual[1] if usual else None,
        supplement_requests=int(row["supplement_requests"] or 0),
        reasons=reasons[i],
    )


def unit_words(code: str | None) -> Words | None:
    """An org unit by name in both languages (``sample_logs.names``, the deployment's
    ``units_file`` first)."""
    if code is None or code == "?":
        return None
    units_file = get_settings().units_file
    return Words(
        vi=names.unit_name(code, "vi", units_file), en=names.unit_name(code, "en", units_file)
    )


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _by_unit(x: pd.DataFrame, prob: np.ndarray | None, flagged: np.ndarray) -> list[UnitCount]:
    f = pd.DataFrame(
        {
            "unit": x["last_unit"].fillna("?").astype(str),
            "flagged": flagged.astype(int),
            "p": prob if prob is not None else np.nan,
        }
    )
    g = f.groupby("unit").agg(open=("flagged", "size"), flagged=("flagged", "sum"), p=("p", "mean"))
    g = g.sort_values(["flagged", "open"], ascending=False)
    return [
        UnitCount(
            unit=u,
            unit_name=unit_words(u),
            open=int(r.open),
            flagged=int(r.flagged),
            mean_probability=None if pd.isna(r.p) else float(r.p),
        )
        for u, r in g.iterrows()
    ]
