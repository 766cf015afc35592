"""The morning list: a procedure's open dossiers ranked by the probability that they finish
late, with the expected finish, where each waits, and why.

One model per procedure and store version (retrained at most every
``warning_retrain_seconds`` while events stream in; the open dossiers are rescored at every
version). A procedure with too few finished dossiers is pooled with the store's others
(the procedure a feature); too few even then, the existing at-risk rule ranks the list and
the answer says so.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
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
from mining.warning.model import Model, ModelOptions, NotEnoughData, train
from mining.warning.quality import evaluate, rule_scores, rule_status
from mining.warning.reasons import explain, rule_reasons
from mining.warning.results import DossierWarning, QualityCard, UnitCount, Warnings, Words
from mining.warning.timeline import Timeline, read_timeline


@dataclass
class _Fit:
    """A trained model (or why there is none) and its quality card."""

    model: Model | None
    method: str
    message: Words | None
    quality: QualityCard | None
    pooled_timeline: Timeline | None
    version: str
    at: float


_lock = threading.Lock()
_fits: OrderedDict[tuple, _Fit] = OrderedDict()
_MAX_FITS = 16


def model_options(settings: Settings) -> ModelOptions:
    return ModelOptions(
        min_finished=settings.warning_min_finished,
        min_late=settings.warning_min_late,
        exclude_supplement_wait=settings.exclude_supplement_wait,
    )


def as_of_moment(as_of: date | datetime | None, tz: str) -> datetime | None:
    """A replay date means the store as it was at the end of that day (local time)."""
    if as_of is None:
        return None
    if not isinstance(as_of, datetime):
        as_of = datetime.combine(as_of, dtime(23, 59, 59))
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo(tz))
    return as_of


def _catalog(code: str):
    try:
        from sample_logs.catalog import get_procedure

        return get_procedure(code)
    except Exception:  # a broken user catalog: the log has no deadlines then
        return None


def _deadlines() -> dict[str, int]:
    from sample_logs.catalog import load_catalog

    try:
        return {c: p.deadline_working_days for c, p in load_catalog().items()}
    except Exception:
        return {}


def warnings(
    store: EventStore,
    flt: LogFilter,
    *,
    as_of: date | datetime | None = None,
    top: int | None = None,
    settings: Settings | None = None,
    quality: bool = True,
    term_days: float | None = None,
) -> Warnings:
    """The open dossiers of ``flt`` (which must name a procedure) ranked by risk of
    finishing late, as of now or as the store was at ``as_of``."""
    settings = settings or get_settings()
    if not flt.procedure:
        raise FilterError("--procedure is required: a warning model is per procedure.")
    code = flt.procedure
    moment = as_of_moment(as_of, settings.timezone)
    rules = DeadlineRules(
        max_supplements_on_time=settings.max_supplements_on_time,
        exclude_supplement_wait=settings.exclude_supplement_wait,
        at_risk_share=settings.at_risk_share,
        same_day_cutoff_hour=settings.same_day_cutoff_hour,
    )
    proc = _catalog(code)
    deadline = proc.deadline_working_days if proc else None
    con = load_log(store, LogFilter(procedure=code))
    if moment is not None:
        cut_log(con, moment)
    tl = read_timeline(con, deadline, rules=rules, as_of=moment, term_days=term_days)
    in_scope = set(case_ids(con, flt)) if flt != LogFilter(procedure=code) else None
    con.close()
    fit = _fit(store, code, tl, moment, settings, rules, quality, term_days)

    began = time.perf_counter()
    tz = ZoneInfo(settings.timezone)
    use = tl
    if fit.method == "pooled":  # scored on the log it was trained on, as it is now
        use = fit.pooled_timeline
        if fit.version != store.version():
            use = _pooled_timeline(store, moment, rules, term_days) or tl
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
        store_version=fit.version,
    )


def _fit(
    store: EventStore,
    code: str,
    tl: Timeline,
    moment: datetime | None,
    settings: Settings,
    rules: DeadlineRules,
    quality: bool,
    term_days: float | None,
) -> _Fit:
    """The procedure's model for this store version: trained now, or kept from an earlier
    version of the same replay less than ``warning_retrain_seconds`` ago (a live stream)."""
    version = store.version()
    key = (str(store.data_dir), code, moment, term_days, quality, model_options(settings))
    with _lock:
        kept = _fits.get(key)
    now = time.monotonic()
    if kept is not None and (
        kept.version == version or now - kept.at < settings.warning_retrain_seconds
    ):
        return kept
    fit = _train_fit(store, code, tl, moment, settings, rules, quality, term_days, version)
    with _lock:
        _fits[key] = fit
        _fits.move_to_end(key)
        while len(_fits) > _MAX_FITS:
            _fits.popitem(last=False)
    return fit


def _train_fit(store, code, tl, moment, settings, rules, quality, term_days, version) -> _Fit:
    opts = model_options(settings)
    at = time.monotonic()
    try:
        model = train(tl, options=opts)
        card = _quality(tl, opts, rules, quality, "model")
        return _Fit(model, "model", None, card, None, version, at)
    except NotEnoughData as own:
        reason = str(own)
    pooled = _pooled_timeline(store, moment, rules, term_days)
    if pooled is not None and len(pooled.dossiers["procedure"].unique()) > 1:
        try:
            model = train(pooled, options=opts)
            card = _quality(pooled, opts, rules, quality, "pooled")
            message = Words(
                vi=f"Thủ tục có ít hồ sơ đã xong ({reason}): mô hình học chung với các thủ tục "
                "khác trong kho, thủ tục là một đặc trưng.",
                en=f"Few finished dossiers for this procedure ({reason}): the model learns "
                "from all the store's procedures, with the procedure as a feature.",
            )
            return _Fit(model, "pooled", message, card, pooled, version, at)
        except NotEnoughData as all_:
            reason = f"{reason}; all procedures: {all_}"
    message = Words(
        vi=f"Chưa đủ hồ sơ đã xử lý xong để học ({reason}): danh sách xếp theo quy tắc "
        f"'sắp quá hạn' (đã dùng trên {settings.at_risk_share:.0%} thời hạn).",
        en=f"Not enough finished dossiers to learn from ({reason}): the list is ranked by the "
        f"at-risk rule (more than {settings.at_risk_share:.0%} of the deadline used).",
    )
    return _Fit(None, "rule", message, None, None, version, at)


def _quality(tl, opts, rules, wanted, method) -> QualityCard | None:
    if not wanted:
        return None
    try:
        return evaluate(tl, opts, rules, method=method)
    except NotEnoughData:
        return None  # enough to train on everything, not on the older 80 %


def _pooled_timeline(store, moment, rules, term_days) -> Timeline | None:
    con = load_log(store, LogFilter())
    try:
        if moment is not None:
            cut_log(con, moment)
        return read_timeline(con, _deadlines(), rules=rules, as_of=moment, term_days=term_days)
    finally:
        con.close()


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
        commune=d["commune"],
        unit=row["last_unit"],
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
            open=int(r.open),
            flagged=int(r.flagged),
            mean_probability=None if pd.isna(r.p) else float(r.p),
        )
        for u, r in g.iterrows()
    ]
