"""The early-warning model: will an open dossier finish late, and when will it finish.

Gradient boosting (scikit-learn's ``HistGradientBoosting``) on prefix features of finished
dossiers: a classifier for "late" whose probabilities are calibrated on dossiers it did not
fit (folds grouped by dossier, so the prefixes of one dossier never sit on both sides), and
three quantile regressors (10 %, 50 %, 90 %) for the days still to go. Seconds on a CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from mining.warning.features import CATEGORICAL, FEATURES, prefix_features
from mining.warning.timeline import Timeline

MAX_CATEGORIES = 250  # HistGradientBoosting takes fewer than 255 categories per feature
GRID = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.2)  # training points, shares of the deadline
MAX_POINTS_PER_DOSSIER = 40
QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class ModelOptions:
    """How a model is trained; the defaults come from settings (``warning_*``)."""

    min_finished: int = 100  # finished dossiers with a due date needed to train
    min_late: int = 10  # ... of which late, and as many on time
    max_rows: int = 120_000  # training prefixes kept (sampled by dossier beyond)
    max_iter: int = 120
    exclude_supplement_wait: bool = True
    seed: int = 20250701
    threads: int = 1
    min_samples_leaf: int = 20
    half_life_days: float | None = None  # weigh recent dossiers more (processes drift)
    top_activities: int = 40  # a bag of the most frequent activities (counts so far)
    log_target: bool = True  # remaining-time quantiles fitted on log(1 + days)


class NotEnoughData(Exception):
    """Too few finished dossiers (or too few of one kind) to learn from."""


def training_points(tl: Timeline, cases: np.ndarray, seed: int) -> pd.DataFrame:
    """Prefixes of finished dossiers, each (case_id, t) strictly before the dossier ended:
    after each event (n: events seen), and at shares of the deadline (``GRID``, n unset),
    at most ``MAX_POINTS_PER_DOSSIER`` per dossier."""
    ev = tl.events[tl.events["case_id"].isin(cases)]
    ends = tl.outcomes["end"].reindex(ev["case_id"]).to_numpy("datetime64[us]")
    at_events = pd.DataFrame(
        {
            "case_id": ev["case_id"].to_numpy(),
            "t": ev["ts"].to_numpy(),
            "n": ev.groupby("case_id").cumcount().to_numpy(float) + 1,
        }
    )
    at_events = at_events[at_events["t"].to_numpy() < ends]
    d = tl.dossiers.loc[cases]
    o = tl.outcomes.loc[cases]
    span = (d["due_pos"] - d["received_pos"]).to_numpy(float)
    parts = [at_events]
    for share in GRID:
        p = d["received_pos"].to_numpy(float) + share * span
        keep = ~np.isnan(p) & (p < o["end_pos"].to_numpy(float))
        parts.append(pd.DataFrame({"case_id": cases[keep], "t": tl.axis.moment(p[keep])}))
    pts = pd.concat(parts, ignore_index=True).drop_duplicates(["case_id", "t", "n"])
    rng = np.random.default_rng(seed)
    pts = (
        pts.sample(frac=1.0, random_state=rng.integers(1 << 31))
        .groupby("case_id")
        .head(MAX_POINTS_PER_DOSSIER)
    )
    return pts.sort_values(["case_id", "t"], kind="stable").reset_index(drop=True)


def extra_columns(x: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The feature columns beyond ``FEATURES``: activity counts and trace attributes
    (numeric, and categorical when a column is not numbers)."""
    numeric, categorical = [], []
    for c in x.columns:
        if c.startswith("count:"):
            numeric.append(c)
        elif c.startswith("attr:"):
            is_num = pd.api.types.is_numeric_dtype(x[c])
            (numeric if is_num else categorical).append(c)
    return numeric, categorical


@dataclass
class Encoder:
    """Categorical features as small integer codes (the most frequent values; the rest and
    values never seen share one code). ``columns``: the features, in the model's order."""

    vocab: dict[str, dict[object, int]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=lambda: list(FEATURES))

    def fit(self, x: pd.DataFrame) -> Encoder:
        numeric, categorical = extra_columns(x)
        self.columns = list(FEATURES) + numeric + categorical
        for c in list(CATEGORICAL) + categorical:
            top = x[c].astype(object).dropna().value_counts().index[:MAX_CATEGORIES]
            self.vocab[c] = {v: i for i, v in enumerate(top)}
        return self

    def transform(self, x: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in self.columns:
            if c in self.vocab:
                codes = x[c].astype(object).map(self.vocab[c])
                other = float(len(self.vocab[c]))
                col = np.where(x[c].isna(), np.nan, codes.fillna(other).to_numpy(float))
            else:
                col = x[c].to_numpy(float)
            cols.append(col)
        return np.column_stack(cols)

    @property
    def mask(self) -> np.ndarray:
        return np.array([c in self.vocab for c in self.columns])


@dataclass
class Model:
    """A trained warning model and what it was trained on."""

    encoder: Encoder
    classifier: CalibratedClassifierCV | None
    regressors: dict[float, HistGradientBoostingRegressor]
    dossiers: int  # finished dossiers learnt from
    late_dossiers: int
    rows: int  # prefixes learnt from
    seconds: float
    typical: dict[str, object]  # a typical value of each feature (median / most frequent)
    usual_wait: dict[tuple, tuple[float, float]]  # (step, unit) -> (median, p90) days there
    exclude_supplement_wait: bool = True
    activities: tuple[str, ...] = ()  # counted in the bag of activities
    log_target: bool = False

    def features(self, tl: Timeline, points: pd.DataFrame) -> pd.DataFrame:
        return prefix_features(
            tl.events, tl.dossiers, points, tl.axis, self.exclude_supplement_wait, self.activities
        )

    def probability(self, x: pd.DataFrame) -> np.ndarray | None:
        if self.classifier is None:
            return None
        return self.classifier.predict_proba(self.encoder.transform(x))[:, 1]

    def remaining(self, x: pd.DataFrame) -> dict[float, np.ndarray]:
        """Days still to go, per quantile (ordered, never negative)."""
        m = self.encoder.transform(x)
        q = {a: r.predict(m) for a, r in self.regressors.items()}
        if self.log_target:
            q = {a: np.expm1(v) for a, v in q.items()}
        q = {a: np.maximum(v, 0.0) for a, v in q.items()}
        lo, mid, hi = (q[a] for a in QUANTILES)
        mid = np.maximum(mid, lo)
        return {QUANTILES[0]: lo, QUANTILES[1]: mid, QUANTILES[2]: np.maximum(hi, mid)}


def labelled(tl: Timeline, before: np.datetime64 | None = None) -> np.ndarray:
    """Finished dossiers with a known on-time status (received before ``before``)."""
    o, d = tl.outcomes, tl.dossiers
    keep = o["finished"].to_numpy(bool) & ~np.isnan(o["late"].to_numpy(float))
    if before is not None:
        keep &= d["received"].to_numpy("datetime64[us]") < before
    return o.index.to_numpy()[keep]


def train(
    tl: Timeline, cases: np.ndarray | None = None, options: ModelOptions | None = None
) -> Model:
    """A model learnt from the finished dossiers ``cases`` (default: all labelled ones).
    Raises ``NotEnoughData`` below ``options.min_finished`` / ``min_late``."""
    opt = options or ModelOptions()
    began = time.perf_counter()
    cases = labelled(tl) if cases is None else np.asarray(cases)
    late = tl.outcomes.loc[cases, "late"].to_numpy(float)
    n_late = int(np.nansum(late))
    if len(cases) < opt.min_finished:
        raise NotEnoughData(
            f"{len(cases)} finished dossiers with a due date (at least {opt.min_finished} needed)"
        )
    if min(n_late, len(cases) - n_late) < opt.min_late:
        raise NotEnoughData(
            f"{n_late} late and {len(cases) - n_late} on-time finished "
            f"dossiers (at least {opt.min_late} of each needed)"
        )
    pts = training_points(tl, cases, opt.seed)
    if len(pts) > opt.max_rows:
        pts = pts.sample(opt.max_rows, random_state=opt.seed).sort_values(["case_id", "t"])
    ev = tl.events[tl.events["case_id"].isin(cases)]
    top = ev["activity"].value_counts().index[: opt.top_activities]
    activities = tuple(sorted(str(a) for a in top))
    x = prefix_features(
        tl.events, tl.dossiers, pts, tl.axis, opt.exclude_supplement_wait, activities
    )
    enc = Encoder().fit(x)
    m = enc.transform(x)
    y_late = tl.outcomes["late"].reindex(x["case_id"]).to_numpy(float)
    remaining = tl.outcomes["end_pos"].reindex(x["case_id"]).to_numpy(float) - tl.axis.pos(
        x["t"].to_numpy()
    )
    groups = x["case_id"].to_numpy()
    base = {
        "categorical_features": enc.mask,
        "max_iter": opt.max_iter,
        "random_state": opt.seed,
        "learning_rate": 0.1,
    }
    weight = None
    if opt.half_life_days:
        received = tl.dossiers["received_pos"].reindex(x["case_id"]).to_numpy(float)
        weight = 0.5 ** ((np.nanmax(received) - received) / opt.half_life_days)
    folds = list(GroupKFold(n_splits=3).split(m, y_late, groups))
    clf = CalibratedClassifierCV(
        HistGradientBoostingClassifier(**base),
        method="isotonic" if len(cases) >= 1000 else "sigmoid",
        cv=folds,
    )
    # One OpenMP thread: on a shared 2-core server more threads spin against each other
    # (a 1.5 s fit took 8-16 s with the default thread count there).
    with threadpool_limits(opt.threads):
        clf.fit(m, y_late.astype(int), sample_weight=weight)
        target = np.log1p(np.maximum(remaining, 0.0)) if opt.log_target else remaining
        regs = {
            a: HistGradientBoostingRegressor(loss="quantile", quantile=a, **base).fit(m, target)
            for a in QUANTILES
        }
    return Model(
        encoder=enc,
        classifier=clf,
        regressors=regs,
        dossiers=len(cases),
        late_dossiers=n_late,
        rows=len(x),
        seconds=time.perf_counter() - began,
        typical=_typical(x, enc),
        usual_wait=usual_waits(tl, cases),
        exclude_supplement_wait=opt.exclude_supplement_wait,
        activities=activities,
        log_target=opt.log_target,
    )


def _typical(x: pd.DataFrame, enc: Encoder) -> dict[str, object]:
    out: dict[str, object] = {}
    for c in enc.columns:
        col = x[c]
        if c in enc.vocab:
            counts = col.dropna().value_counts()
            out[c] = counts.index[0] if len(counts) else None
        else:
            out[c] = float(np.nanmedian(col.to_numpy(float))) if col.notna().any() else np.nan
    return out


def usual_waits(tl: Timeline, cases: np.ndarray) -> dict[tuple, tuple[float, float]]:
    """How long finished dossiers stayed after each step at each unit before their next
    event (median and 90th percentile, days): (step, unit) and (step, None)."""
    ev = tl.events[tl.events["case_id"].isin(cases)]
    case = ev["case_id"].to_numpy()
    pos = ev["pos"].to_numpy(float)
    same = np.r_[case[1:] == case[:-1], False]
    stay = np.where(same, np.r_[pos[1:], np.nan] - pos, np.nan)
    f = pd.DataFrame(
        {
            "step": ev["activity"].to_numpy(object),
            "unit": ev["org_unit"].astype(object).to_numpy(),
            "stay": stay,
        }
    ).dropna()
    out: dict[tuple, tuple[float, float]] = {}
    for keys, by in ((["step", "unit"], f), (["step"], f)):
        g = by.groupby(keys)["stay"]
        stats = pd.DataFrame({"n": g.size(), "median": g.median(), "p90": g.quantile(0.9)})
        for key, row in stats[stats["n"] >= 5].iterrows():
            k = key if isinstance(key, tuple) else (key, None)
            out[k] = (float(row["median"]), float(row["p90"]))
    return out
