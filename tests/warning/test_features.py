"""Prefix features are leak-proof: at a moment t they are the same whether the log holds
the dossiers' future or was cut at t."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from mining.filters import LogFilter
from mining.log import cut_log, load_log
from mining.warning.features import FEATURES, prefix_features
from mining.warning.timeline import read_timeline

T = datetime(2026, 3, 4, 10, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
CODE, DEADLINE = "1.004193", 3


def timelines(store):
    full = read_timeline(load_log(store, LogFilter(procedure=CODE)), DEADLINE)
    con = load_log(store, LogFilter(procedure=CODE))
    cut_log(con, T)
    return full, read_timeline(con, DEADLINE, as_of=T)


def points_at_t(tl) -> pd.DataFrame:
    """Every dossier received by T (finished or not), observed at T and at an earlier
    moment of its life."""
    ids = tl.dossiers.index.to_numpy()
    t = np.datetime64(T.replace(tzinfo=None), "us")
    received = tl.dossiers["received"].to_numpy("datetime64[us]")
    middle = received + (t - received) // 2
    return pd.DataFrame({"case_id": np.r_[ids, ids], "t": np.r_[np.full(len(ids), t), middle]})


def test_features_at_t_ignore_every_event_after_t(warn_store):
    full, cut = timelines(warn_store)
    points = points_at_t(cut)
    assert len(points) > 1000 and (~cut.outcomes["finished"]).sum() > 20
    acts = tuple(sorted(full.events["activity"].unique()))
    on_cut = prefix_features(cut.events, cut.dossiers, points, cut.axis, activities=acts)
    on_full = prefix_features(full.events, full.dossiers, points, full.axis, activities=acts)
    counts = [c for c in on_full.columns if c.startswith("count:")]
    assert len(counts) == len(acts) and on_full[counts].to_numpy().sum() > 0
    columns = list(FEATURES) + counts
    pd.testing.assert_frame_equal(on_full[columns], on_cut[columns], rtol=1e-9)


def test_event_level_prefixes_ignore_every_later_event(warn_store):
    """A point that names its events seen (n) reads the state after its n-th event only:
    the same on the log cut at T as on the full log, for every event before T."""
    full, cut = timelines(warn_store)
    ev = cut.events
    points = pd.DataFrame(
        {
            "case_id": ev["case_id"].to_numpy(),
            "t": ev["ts"].to_numpy(),
            "n": ev.groupby("case_id").cumcount().to_numpy() + 1,
        }
    )
    acts = tuple(sorted(full.events["activity"].unique()))
    on_cut = prefix_features(cut.events, cut.dossiers, points, cut.axis, activities=acts)
    on_full = prefix_features(full.events, full.dossiers, points, full.axis, activities=acts)
    columns = list(FEATURES) + [c for c in on_full.columns if c.startswith("count:")]
    pd.testing.assert_frame_equal(on_full[columns], on_cut[columns], rtol=1e-9)
    # the n-th event's own step, not a later one at the same moment
    assert (on_full["last_step"].to_numpy() == ev["activity"].to_numpy()).all()


def test_the_check_catches_a_feature_that_reads_the_future(warn_store):
    """The comparison above has power: the same check on a feature read from the whole
    dossier (its total number of events) finds a difference for dossiers open at T."""
    full, cut = timelines(warn_store)
    open_at_t = cut.outcomes.index[~cut.outcomes["finished"].to_numpy(bool)]
    total = lambda tl: tl.events.groupby("case_id").size().reindex(open_at_t)  # noqa: E731
    assert (total(full) != total(cut)).any()
