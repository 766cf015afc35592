"""The quality card: the model against the existing rule, on dossiers it never saw.

Chronological split: train on dossiers received before a cut date (by default only those
finished by then, as a model trained that day would have been), test on those received
after it, at fixed points of their life (25 %, 50 %, 75 % of the deadline used) where they
are still open. The rule is ``mining.deadlines``' own: overdue, then at risk once more than
``at_risk_share`` of the deadline is used; as a ranking, its classes then the share used.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from mining.deadlines import DeadlineRules
from mining.warning.model import Model, ModelOptions, labelled, train
from mining.warning.results import LeadTime, QualityCard, QualityPoint
from mining.warning.timeline import Timeline

SHARES = (0.25, 0.5, 0.75)
LEAD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 21))  # 5 % .. 100 % of the deadline


def rule_scores(x: pd.DataFrame, rules: DeadlineRules) -> tuple[np.ndarray, np.ndarray]:
    """The rule's ranking score and flag (at risk or overdue) for feature rows."""
    used = np.nan_to_num(x["used_share"].to_numpy(float), nan=0.0)
    overdue = (x["left"].to_numpy(float) < 0) | (
        x["supplement_requests"].to_numpy(float) > rules.max_supplements_on_time
    )
    at_risk = ~overdue & (used > rules.at_risk_share)
    score = 2.0 * overdue + at_risk + np.clip(used, 0, 1.5) / 10
    return score, overdue | at_risk


def rule_status(x: pd.DataFrame, rules: DeadlineRules) -> np.ndarray:
    score, flag = rule_scores(x, rules)
    return np.where(score >= 2, "overdue", np.where(flag, "at_risk", "within"))


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def precision_at_recall(y: np.ndarray, s: np.ndarray, recall: float) -> float | None:
    """Precision of the top-scored dossiers once they reach ``recall`` of the late ones."""
    if recall <= 0 or y.sum() == 0:
        return None
    order = np.argsort(-s, kind="stable")
    hits = np.cumsum(y[order])
    k = int(np.searchsorted(hits, recall * y.sum() - 1e-9)) + 1
    return float(hits[k - 1] / k)


def points_at(tl: Timeline, cases: np.ndarray, share: float) -> pd.DataFrame:
    """(case_id, t) when ``share`` of each dossier's deadline has elapsed, for those still
    open then (not yet processed)."""
    d, o = tl.dossiers.loc[cases], tl.outcomes.loc[cases]
    span = (d["due_pos"] - d["received_pos"]).to_numpy(float)
    p = d["received_pos"].to_numpy(float) + share * span
    keep = (span > 0) & (p < o["end_pos"].to_numpy(float))
    return pd.DataFrame({"case_id": cases[keep], "t": tl.axis.moment(p[keep])})


def evaluate(
    tl: Timeline,
    options: ModelOptions | None = None,
    rules: DeadlineRules | None = None,
    *,
    test_share: float = 0.2,
    known_at_cut: bool = True,
    threshold: float = 0.5,
    method: str = "model",
    test_procedure: str | None = None,
) -> QualityCard:
    """The quality card of a model trained as of a cut date (the receipt date that leaves
    ``test_share`` of the finished dossiers after it); ``test_procedure``: a pooled model
    trained on every procedure, tested on that one's dossiers only."""
    procs = None if test_procedure is None else [test_procedure]
    cards = evaluate_each(
        tl,
        options,
        rules,
        test_share=test_share,
        known_at_cut=known_at_cut,
        threshold=threshold,
        method=method,
        procedures=procs,
    )
    return next(iter(cards.values()))


def evaluate_each(
    tl: Timeline,
    options: ModelOptions | None = None,
    rules: DeadlineRules | None = None,
    *,
    test_share: float = 0.2,
    known_at_cut: bool = True,
    threshold: float = 0.5,
    method: str = "model",
    procedures: list[str] | None = None,
) -> dict[str | None, QualityCard]:
    """``evaluate`` with one model trained at the cut and tested on each of ``procedures``'
    dossiers apart (a pooled model), or on all of them (``procedures`` None: key None)."""
    rules = rules or DeadlineRules.from_settings()
    began = time.perf_counter()
    done = labelled(tl)
    received = tl.dossiers.loc[done, "received"].to_numpy("datetime64[us]")
    cut = np.sort(received)[int(len(received) * (1 - test_share))]
    train_cases = done[received < cut]
    if known_at_cut:
        train_cases = train_cases[tl.outcomes.loc[train_cases, "end"].to_numpy() < cut]
    after = done[received >= cut]
    model = train(tl, train_cases, options)
    fitted = time.perf_counter() - began
    cards: dict[str | None, QualityCard] = {}
    for code in procedures or [None]:
        scoring = time.perf_counter()
        test_cases = after
        if code is not None:
            test_cases = after[tl.dossiers.loc[after, "procedure"].to_numpy(object) == code]
        cards[code] = QualityCard(
            method=method,  # type: ignore[arg-type]
            cut=pd.Timestamp(cut).to_pydatetime(),
            train_dossiers=model.dossiers,
            test_dossiers=len(test_cases),
            threshold=threshold,
            points=[_point(tl, model, test_cases, s, rules) for s in SHARES],
            lead_time=lead_time(tl, model, test_cases, rules, threshold),
            remaining_mae_days=remaining_mae(tl, model, test_cases),
            training_seconds=round(fitted + time.perf_counter() - scoring, 2),
            fit_seconds=round(model.seconds, 2),
        )
    return cards


@dataclass(frozen=True)
class RemainingTimeScore:
    """Remaining-time MAE under the published protocol (PGTNet's, after Rama-Maneiro et
    al.): cases sorted by start, the first 80 % train (whole, however late they end),
    the last 20 % test; MAE over every event-level prefix of length 2 .. n-1."""

    mae_days: float
    train_cases: int
    test_cases: int
    prefixes: int
    fit_seconds: float
    score_seconds: float


def _by_start(
    tl: Timeline, cases: np.ndarray | None, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """``cases`` (default all) sorted by start: the first ``1 - share`` and the last ``share``."""
    start = tl.dossiers["received"]
    if cases is not None:
        start = start.loc[cases]
    start = start.sort_values(kind="stable")
    k = int(len(start) * (1 - share))
    return start.index[:k].to_numpy(), start.index[k:].to_numpy()


def with_attributes(tl: Timeline, names: tuple[str, ...]) -> Timeline:
    """``tl`` with only the case attributes ``names`` among its ``attr:`` columns."""
    keep = {f"attr:{n}" for n in names}
    drop = [c for c in tl.dossiers.columns if c.startswith("attr:") and c not in keep]
    return dataclasses.replace(tl, dossiers=tl.dossiers.drop(columns=drop))


@dataclass(frozen=True)
class Candidate:
    """One configuration tried on the validation split, and its validation MAE (days)."""

    attributes: tuple[str, ...]
    top_activities: int
    log_target: bool
    validation_mae_days: float
    fit_seconds: float


@dataclass(frozen=True)
class Selection:
    """The validation-chosen configuration (``chosen``), every one tried, and the test
    score of the chosen one retrained on all training cases (measured once)."""

    chosen: Candidate
    tried: list[Candidate]
    validation_cases: int
    test: RemainingTimeScore


def select_on_validation(
    tl: Timeline,
    attributes: tuple[tuple[str, ...], ...],
    bags: tuple[int, ...] = (40, 100),
    targets: tuple[bool, ...] = (True, False),
    options: ModelOptions | None = None,
    test_share: float = 0.2,
    validation_share: float = 0.2,
) -> Selection:
    """Model selection that never looks at the test cases: the training cases (first
    ``1 - test_share`` by start) are split again by start, the last ``validation_share``
    validating. Coordinate search on the validation MAE, in order: the case attributes
    (the first bag and target), then the bag size, then the target transform. The chosen
    configuration is then retrained on every training case and scored once on the test
    cases (``published_protocol``)."""
    base = options or ModelOptions(min_finished=1, min_late=1)
    fit_cases, _ = _by_start(tl, None, test_share)
    inner, valid = _by_start(tl, fit_cases, validation_share)
    tried: dict[tuple, Candidate] = {}

    def score(attrs: tuple[str, ...], bag: int, log: bool) -> Candidate:
        key = (attrs, bag, log)
        if key not in tried:
            sub = with_attributes(tl, attrs)
            opts = dataclasses.replace(base, top_activities=bag, log_target=log)
            model = train(sub, inner, opts)
            mae = remaining_mae(sub, model, valid)
            tried[key] = Candidate(
                attrs, bag, log, float("nan") if mae is None else mae, round(model.seconds, 2)
            )
        return tried[key]

    def best(cands: list[Candidate]) -> Candidate:
        return min(cands, key=lambda c: c.validation_mae_days)

    c = best([score(a, bags[0], targets[0]) for a in attributes])
    c = best([score(c.attributes, b, targets[0]) for b in bags])
    c = best([score(c.attributes, c.top_activities, t) for t in targets])
    opts = dataclasses.replace(base, top_activities=c.top_activities, log_target=c.log_target)
    test = published_protocol(with_attributes(tl, c.attributes), opts, test_share)
    return Selection(chosen=c, tried=list(tried.values()), validation_cases=len(valid), test=test)


def published_protocol(
    tl: Timeline, options: ModelOptions | None = None, test_share: float = 0.2
) -> RemainingTimeScore:
    train_cases, test_cases = _by_start(tl, None, test_share)
    opts = options or ModelOptions(min_finished=1, min_late=1)
    model = train(tl, train_cases, opts)
    began = time.perf_counter()
    pts = event_prefixes(tl, test_cases)
    mae = remaining_mae(tl, model, test_cases)
    return RemainingTimeScore(
        mae_days=float("nan") if mae is None else mae,
        train_cases=len(train_cases),
        test_cases=len(test_cases),
        prefixes=len(pts),
        fit_seconds=round(model.seconds, 2),
        score_seconds=round(time.perf_counter() - began, 2),
    )


def _point(
    tl: Timeline, model: Model, cases: np.ndarray, share: float, rules: DeadlineRules
) -> QualityPoint:
    pts = points_at(tl, cases, share)
    x = model.features(tl, pts)
    y = tl.outcomes["late"].reindex(x["case_id"]).to_numpy(float).astype(int)
    p = model.probability(x)
    score, flag = rule_scores(x, rules)
    n, late = len(y), int(y.sum())
    tp = int((flag & (y == 1)).sum())
    recall = tp / late if late else None
    return QualityPoint(
        share=share,
        dossiers=n,
        late=late,
        auc_model=_auc(y, p) if n else None,
        auc_rule=_auc(y, score) if n else None,
        brier_model=float(brier_score_loss(y, p)) if n else None,
        brier_rule=float(np.mean((flag.astype(float) - y) ** 2)) if n else None,
        recall_rule=recall,
        precision_rule=tp / int(flag.sum()) if flag.sum() else None,
        precision_model_at_rule_recall=precision_at_recall(y, p, recall or 0.0),
    )


def lead_time(
    tl: Timeline, model: Model, cases: np.ndarray, rules: DeadlineRules, threshold: float
) -> LeadTime | None:
    """First warning on a grid of deadline shares (5 % .. 100 %) while the dossier is open:
    the model at ``threshold``, the rule at its flag."""
    frames = []
    for share in LEAD_GRID:
        pts = points_at(tl, cases, share)
        pts["share"] = share
        frames.append(pts)
    pts = pd.concat(frames, ignore_index=True)
    if pts.empty:
        return None
    x = model.features(tl, pts)
    x["share"] = pts["share"].to_numpy()
    x["model"] = model.probability(x) >= threshold
    x["rule"] = rule_scores(x, rules)[1]
    late = tl.outcomes.loc[cases, "late"].to_numpy(float) == 1
    span = tl.dossiers.loc[cases, "due_pos"] - tl.dossiers.loc[cases, "received_pos"]
    out = {}
    for who in ("model", "rule"):
        first = x[x[who]].groupby("case_id")["share"].min().reindex(cases)
        lead = ((1 - first) * span.to_numpy()).fillna(0.0).to_numpy(float)
        warned = first.notna().to_numpy()
        out[who] = (
            float(lead[late].mean()) if late.any() else 0.0,
            float(warned[late].mean()) if late.any() else 0.0,
            float(warned[~late].mean()) if (~late).any() else 0.0,
        )
    return LeadTime(
        late_dossiers=int(late.sum()),
        on_time_dossiers=int((~late).sum()),
        model_days=out["model"][0],
        rule_days=out["rule"][0],
        model_warned_share=out["model"][1],
        rule_warned_share=out["rule"][1],
        model_false_alarm_share=out["model"][2],
        rule_false_alarm_share=out["rule"][2],
    )


def event_prefixes(tl: Timeline, cases: np.ndarray, min_length: int = 2) -> pd.DataFrame:
    """(case_id, t, n) after each of the dossiers' events from the ``min_length``-th to the
    last but one: the event-level prefixes the remaining-time literature averages over
    (PGTNet's: lengths 2 .. n-1, dossiers of at least three events)."""
    ev = tl.events[tl.events["case_id"].isin(cases)]
    n = ev.groupby("case_id").cumcount().to_numpy() + 1
    size = ev.groupby("case_id")["ts"].transform("size").to_numpy()
    keep = (n >= min_length) & (n < size)
    return pd.DataFrame(
        {"case_id": ev["case_id"].to_numpy()[keep], "t": ev["ts"].to_numpy()[keep], "n": n[keep]}
    ).reset_index(drop=True)


def remaining_mae(tl: Timeline, model: Model, cases: np.ndarray) -> float | None:
    """Mean absolute error (days of the axis) of the median expected finish, over every
    event-level prefix of the dossiers (``event_prefixes``)."""
    pts = event_prefixes(tl, cases)
    if pts.empty:
        return None
    x = model.features(tl, pts)
    truth = tl.outcomes["end_pos"].reindex(x["case_id"]).to_numpy(float) - tl.axis.pos(
        x["t"].to_numpy()
    )
    pred = model.remaining(x)[0.5]
    return float(np.mean(np.abs(pred - truth)))
