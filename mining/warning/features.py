"""Prefix features: what was known of a dossier at a moment t, from its events up to t.

Leak-proof by construction. ``prefix_features(events, dossiers, points)`` never sees how a
dossier ended (``Timeline.outcomes`` is not an argument), and reads events only through
running states:

- each dossier's state after each of its events (steps done, supplement requests, the
  clock stopped while waiting for the citizen, last step and unit, ...) is a cumulative
  function of the events before and at it; a point (dossier, t) takes the state of the last
  event with timestamp <= t (``merge_asof``, backward, exact matches included);
- the work in progress of a unit (and of the procedure) at t is the running sum of
  arrivals and departures with timestamp <= t, looked up the same way.

A point may instead name how many of its dossier's events it has seen (column ``n``: the
event-level prefixes of the remaining-time literature, where events sharing a timestamp
are still told apart); its state is then the one after its n-th event.

Besides the fixed features: how often each of a model's ``activities`` was done so far
(a bag of activities, the top-k of the training log), and the trace attributes a log sets
at the start (``Timeline.dossiers`` columns ``attr:<name>``, e.g. BPIC 2015's responsible
actor, parts and fees).

So a point's features are the same whether the log holds the future or not:
``tests/warning/test_features.py`` computes them on a log cut at t and on the full log and
compares every column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mining.deadlines import SUPPLEMENT_REQUEST, SUPPLEMENT_SUBMIT
from mining.warning.timeline import TimeAxis

NUMERIC = (
    "elapsed",  # days since receipt (on the axis: working days)
    "span",  # the deadline, in days
    "used_share",  # share of the deadline used, the citizen's supplement time excluded
    "left",  # days left before the due moment (negative: overdue)
    "supplement_wait",  # days spent waiting for the citizen's supplements so far
    "steps_done",
    "supplement_requests",
    "waiting_citizen",  # a supplement was asked for and not yet brought
    "in_progress",  # a step has started and not completed
    "since_last",  # days since the last event: how long it has waited where it is
    "rework",  # steps done again
    "handoffs",  # changes of unit so far
    "unit_wip",  # open dossiers of the procedure at the same unit at t
    "open_total",  # open dossiers of the procedure at t
    "holidays_ahead",  # days off on weekdays between t and the due day
    "calendar_left",  # calendar days left before the due moment
    "weekday",  # of t (0 = Monday)
    "month",  # of t
)
CATEGORICAL = (
    "procedure",
    "province",
    "channel",
    "last_step",
    "last_unit",
    "prev_step",
    "prev_step2",
)
FEATURES = NUMERIC + CATEGORICAL


def event_states(events: pd.DataFrame) -> pd.DataFrame:
    """Each dossier's state just after each of its events (events sorted by dossier and
    order). Every column is a running function of the dossier's events so far."""
    e = events
    case = e["case_id"].to_numpy()
    pos = e["pos"].to_numpy(float)
    act = e["activity"].to_numpy(object)
    start = e["lifecycle"].to_numpy(object) == "start"
    done = ~start
    g = pd.Series(case)
    first = np.r_[True, case[1:] != case[:-1]]

    def running_sum(x: np.ndarray) -> np.ndarray:
        return pd.Series(x).groupby(g.values).cumsum().to_numpy()

    def last_seen(x: np.ndarray) -> np.ndarray:  # the latest non-NaN value so far
        return pd.Series(x).groupby(g.values).ffill().to_numpy(float)

    request = done & (act == SUPPLEMENT_REQUEST)
    submit = act == SUPPLEMENT_SUBMIT
    last_request = last_seen(np.where(request, pos, np.nan))
    last_submit = last_seen(np.where(submit, pos, np.nan))
    waiting = ~np.isnan(last_request) & ~(last_submit >= last_request)
    was_waiting = np.r_[False, waiting[:-1]] & ~first
    prev_request = np.r_[np.nan, last_request[:-1]]
    closed = np.where(was_waiting & submit, pos - prev_request, 0.0)
    # a step done again: a completed event whose activity the dossier completed before
    comp = pd.DataFrame({"c": case[done], "a": act[done]}).duplicated().to_numpy()
    repeat = np.zeros(len(e), bool)
    repeat[np.flatnonzero(done)] = comp
    unit = e["org_unit"].astype(object).to_numpy()
    prev_unit = np.r_[None, unit[:-1]]
    moved = ~first & (unit != prev_unit)
    second = first | np.r_[True, first[:-1]]
    return pd.DataFrame(
        {
            "case_id": case,
            "ts": e["ts"].to_numpy("datetime64[us]"),
            "pos": pos,
            "steps_done": running_sum(done.astype(np.int64)),
            "supplement_requests": running_sum(request.astype(np.int64)),
            "closed_wait": running_sum(closed),
            "waiting_citizen": waiting,
            "request_pos": last_request,
            "in_progress": start,
            "rework": running_sum(repeat.astype(np.int64)),
            "handoffs": running_sum(moved.astype(np.int64)),
            "last_step": act,
            "prev_step": np.where(first, None, np.r_[None, act[:-1]]),
            "prev_step2": np.where(second, None, np.r_[None, None, act[:-2]]),
            "last_unit": unit,
            "closed": running_sum(e["closes"].to_numpy(bool).astype(np.int64)) > 0,
            "n": running_sum(np.ones(len(e), np.int64)),
        }
    )


def activity_counts(events: pd.DataFrame, activities: tuple[str, ...]) -> pd.DataFrame:
    """``count:<activity>`` after each event: how often the dossier did each of
    ``activities`` so far (running sums, in the events' order)."""
    act = events["activity"].to_numpy(object)
    case = events["case_id"].to_numpy()
    index = {a: i for i, a in enumerate(activities)}
    col = np.array([index.get(a, -1) for a in act], np.int64)
    onehot = np.zeros((len(act), len(activities)), np.float32)
    hit = col >= 0
    onehot[np.flatnonzero(hit), col[hit]] = 1.0
    counts = pd.DataFrame(onehot).groupby(case).cumsum().to_numpy()
    return pd.DataFrame(counts, columns=[f"count:{a}" for a in activities])


def _wip_deltas(events: pd.DataFrame) -> pd.DataFrame:
    """+1 when a dossier arrives at a unit (its first event, or an event at another unit
    than the one before), -1 when it leaves it or closes: time, unit, delta."""
    case = events["case_id"].to_numpy()
    unit = events["org_unit"].astype(object).to_numpy()
    ts = events["ts"].to_numpy("datetime64[us]")
    closes = events["closes"].to_numpy(bool)
    first = np.r_[True, case[1:] != case[:-1]]
    prev_unit = np.r_[None, unit[:-1]]
    moved = ~first & (unit != prev_unit)
    # a dossier stays counted after a closing event only if it closes again later (never)
    closed_before = (
        pd.Series(closes).groupby(case).cumsum().to_numpy() - closes.astype(np.int64)
    ) > 0
    live = ~closed_before
    parts = [
        (ts[(first | moved) & live], unit[(first | moved) & live], 1),
        (ts[moved & live], prev_unit[moved & live], -1),
        (ts[closes & live], unit[closes & live], -1),
    ]
    return pd.DataFrame(
        {
            "ts": np.concatenate([p[0] for p in parts]),
            "unit": np.concatenate([p[1] for p in parts]).astype(object),
            "delta": np.concatenate([np.full(len(p[0]), p[2], np.int64) for p in parts]),
        }
    )


def prefix_features(
    events: pd.DataFrame,
    dossiers: pd.DataFrame,
    points: pd.DataFrame,
    axis: TimeAxis,
    exclude_supplement_wait: bool = True,
    activities: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Features of each point (case_id, t: local ``datetime64``; optionally n: events
    seen), in the points' order.

    ``events``: ``Timeline.events``; ``dossiers``: ``Timeline.dossiers`` (what is known at
    receipt). A point before its dossier's first event has no state (NaN / None)."""
    pts = points[["case_id", "t"]].copy()
    pts["t"] = pts["t"].to_numpy("datetime64[us]")
    pts["_i"] = np.arange(len(pts))
    seen = points["n"].to_numpy(float) if "n" in points.columns else np.full(len(pts), np.nan)
    states = event_states(events)
    if activities:
        states = pd.concat([states, activity_counts(events, activities)], axis=1)
    by_event = ~np.isnan(seen)
    parts = []
    if by_event.any():
        sub = pts[by_event].assign(n=seen[by_event].astype(np.int64))
        parts.append(sub.merge(states, on=["case_id", "n"], how="left"))
    if (~by_event).any() or not parts:  # no point at all: an empty frame of the same shape
        order = np.lexsort((np.arange(len(states)), states["ts"].to_numpy()))
        parts.append(
            pd.merge_asof(
                pts[~by_event].sort_values("t", kind="stable"),
                states.iloc[order],
                left_on="t",
                right_on="ts",
                by="case_id",
                direction="backward",
                allow_exact_matches=True,
            )
        )
    found = pd.concat(parts, ignore_index=True).sort_values("_i", kind="stable")
    t = found["t"].to_numpy("datetime64[us]")
    t_pos = axis.pos(t)
    d = dossiers.reindex(found["case_id"].to_numpy())
    received_pos = d["received_pos"].to_numpy(float)
    due_pos = d["due_pos"].to_numpy(float)
    waiting = found["waiting_citizen"].fillna(False).to_numpy(bool)
    open_wait = np.where(waiting, t_pos - found["request_pos"].to_numpy(float), 0.0)
    supplement_wait = found["closed_wait"].to_numpy(float) + open_wait
    elapsed = t_pos - received_pos
    clock = elapsed - (supplement_wait if exclude_supplement_wait else 0.0)
    span = due_pos - received_pos
    due = d["due"].to_numpy("datetime64[us]")
    out = pd.DataFrame(
        {
            "case_id": found["case_id"].to_numpy(),
            "t": t,
            "elapsed": elapsed,
            "span": span,
            "used_share": np.where(span > 0, clock / np.where(span > 0, span, 1.0), np.nan),
            "left": span - clock,
            "supplement_wait": supplement_wait,
            "steps_done": found["steps_done"].to_numpy(float),
            "supplement_requests": found["supplement_requests"].to_numpy(float),
            "waiting_citizen": waiting.astype(float),
            "in_progress": found["in_progress"].fillna(False).to_numpy(bool).astype(float),
            "since_last": t_pos - found["pos"].to_numpy(float),
            "rework": found["rework"].to_numpy(float),
            "handoffs": found["handoffs"].to_numpy(float),
            "unit_wip": _unit_wip(events, found),
            "open_total": _open_total(events, t),
            "holidays_ahead": _holidays_ahead(t, due, axis.holidays),
            "calendar_left": (due - t).astype("timedelta64[us]").astype(float) / 86_400e6,
            "weekday": pd.DatetimeIndex(t).dayofweek.to_numpy(float),
            "month": pd.DatetimeIndex(t).month.to_numpy(float),
            "procedure": d["procedure"].to_numpy(object),
            "province": d["province"].to_numpy(object),
            "channel": d["channel"].to_numpy(object),
            "last_step": found["last_step"].to_numpy(object),
            "prev_step": found["prev_step"].to_numpy(object),
            "prev_step2": found["prev_step2"].to_numpy(object),
            "last_unit": found["last_unit"].to_numpy(object),
            "closed": found["closed"].fillna(False).to_numpy(bool),
        }
    )
    out.loc[np.isnat(due), "calendar_left"] = np.nan
    extra = [c for c in found.columns if c.startswith("count:")]
    extra += [c for c in dossiers.columns if c.startswith("attr:")]
    if extra:
        more = pd.DataFrame(
            {c: (d[c] if c.startswith("attr:") else found[c]).to_numpy() for c in extra}
        )
        out = pd.concat(
            [out, more.fillna({c: 0.0 for c in extra if c.startswith("count:")})], axis=1
        )
    return out.reset_index(drop=True)


def _unit_wip(events: pd.DataFrame, found: pd.DataFrame) -> np.ndarray:
    """Open dossiers at each point's current unit, at the point's t (running sums <= t)."""
    deltas = _wip_deltas(events)
    deltas = deltas.sort_values(["unit", "ts"], kind="stable")
    deltas["wip"] = deltas.groupby("unit")["delta"].cumsum()
    deltas = deltas.sort_values("ts", kind="stable")
    q = pd.DataFrame(
        {
            "t": found["t"].to_numpy("datetime64[us]"),
            "unit": found["last_unit"].to_numpy(object),
            "_i": np.arange(len(found)),
        }
    )
    known = q["unit"].notna()
    res = np.full(len(q), np.nan)
    if known.any():
        sub = q[known].sort_values("t", kind="stable")
        got = pd.merge_asof(
            sub,
            deltas[["ts", "unit", "wip"]],
            left_on="t",
            right_on="ts",
            by="unit",
            direction="backward",
            allow_exact_matches=True,
        )
        res[got["_i"].to_numpy()] = got["wip"].to_numpy(float)
    return res


def _open_total(events: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    """Open dossiers of the log at each t: arrivals minus closings with timestamp <= t."""
    case = events["case_id"].to_numpy()
    ts = events["ts"].to_numpy("datetime64[us]")
    first = np.r_[True, case[1:] != case[:-1]]
    closes = events["closes"].to_numpy(bool)
    closed_before = (pd.Series(closes).groupby(case).cumsum().to_numpy() - closes) > 0
    arrivals = np.sort(ts[first])
    closings = np.sort(ts[closes & ~closed_before])
    return (
        np.searchsorted(arrivals, t, side="right") - np.searchsorted(closings, t, side="right")
    ).astype(float)


def _holidays_ahead(t: np.ndarray, due: np.ndarray, holidays: np.ndarray) -> np.ndarray:
    """Public holidays on weekdays after t's day up to the due day (Tết ahead, say)."""
    ok = ~np.isnat(t) & ~np.isnat(due)
    res = np.full(len(t), np.nan)
    if ok.any():
        a = t[ok].astype("datetime64[D]") + 1
        b = due[ok].astype("datetime64[D]") + 1
        b = np.maximum(a, b)
        res[ok] = np.searchsorted(holidays, b) - np.searchsorted(holidays, a)
    return res
