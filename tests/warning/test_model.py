"""The warning model against the at-risk rule on the generated log, whose planted slow
handoff (province 31) makes lateness predictable before the rule can see it."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np

from mining.filters import LogFilter
from mining.log import load_log
from mining.warning import evaluate, read_timeline, warnings
from tests.warning.conftest import generated

CODE, DEADLINE = "1.004193", 3


def test_model_ranks_late_dossiers_better_than_the_rule(warn_store):
    card = evaluate(read_timeline(load_log(warn_store, LogFilter(procedure=CODE)), DEADLINE))
    assert card.test_dossiers > 300 and card.train_dossiers > 1000
    for point in card.points:
        assert point.late >= 30, point
        assert point.auc_model > point.auc_rule + 0.1, point
        assert point.brier_model < point.brier_rule, point
    # the expected finish is within two working days on average (3-day deadline)
    assert card.remaining_mae_days < 2.0


def _open_at(store, code: str, moment) -> set[str]:
    """Dossiers received by ``moment`` with no closing event by then, straight from the
    store's Parquet files (an independent reading of the replay)."""
    files = [str(f) for f in store.live_files([code])]
    rows = duckdb.sql(
        f"""SELECT case_id FROM read_parquet({files})
            WHERE procedure_code = $code AND timestamp <= $m
            GROUP BY case_id HAVING count(outcome) = 0""",
        params={"code": code, "m": moment},
    ).fetchall()
    return {r[0] for r in rows}


def test_replay_lists_the_dossiers_open_then_and_flags_the_ones_that_were_late(warn_store):
    flt = LogFilter(procedure=CODE)
    replay = warnings(warn_store, flt, as_of=date(2026, 3, 2), quality=False)
    assert {i.case_id for i in replay.items} == _open_at(warn_store, CODE, replay.as_of)
    # what really happened after that day, from the full log
    full = read_timeline(load_log(warn_store, flt), DEADLINE)
    late = full.outcomes["late"]
    flagged = [i.case_id for i in replay.items if i.probability_late >= replay.threshold]
    calm = [i.case_id for i in replay.items if i.probability_late < replay.threshold]
    assert flagged and calm
    assert np.nanmean(late.loc[flagged]) > np.nanmean(late.loc[calm]) + 0.3


def test_too_few_finished_dossiers_fall_back_to_the_rule(tmp_path):
    store = generated(tmp_path / "data", "1.004193", 40, seed=3)
    got = warnings(store, LogFilter(procedure=CODE), quality=False)
    assert got.method == "rule" and got.message is not None
    assert "at-risk rule" in got.message.en and got.trained_on == 0
    order = {"overdue": 0, "at_risk": 1, "within": 2}
    ranks = [order[i.rule_status] for i in got.items]
    assert ranks == sorted(ranks) and all(i.probability_late is None for i in got.items)


def test_few_late_dossiers_learn_pooled_and_are_measured_on_their_own(tmp_path):
    """Below ``warning_pool_below_late`` the model learns from every procedure of the store
    (the procedure a feature); its quality card counts only this procedure's dossiers."""
    from dvcflow.settings import Settings

    store = generated(tmp_path / "data", "1.004193,1.009974", 700, seed=9)
    settings = Settings(data_dir=store.data_dir, warning_pool_below_late=10_000)
    got = warnings(store, LogFilter(procedure="1.009974"), settings=settings, top=5)
    assert got.method == "pooled" and "all the store's procedures" in got.message.en
    alone = read_timeline(load_log(store, LogFilter(procedure="1.009974")), 15)
    done = alone.outcomes["finished"].to_numpy(bool)
    cut = np.datetime64(got.quality.cut.replace(tzinfo=None), "us")
    after = alone.dossiers["received"].to_numpy("datetime64[us]") >= cut
    assert got.quality.test_dossiers == int((done & after).sum()) > 0
    assert got.quality.train_dossiers > int((done & ~after).sum())  # both procedures
    assert {i.procedure for i in got.items} == {"1.009974"}


def test_model_selection_never_sees_the_test_cases(tmp_path, monkeypatch):
    """``select_on_validation`` chooses on the training cases' own last 20 % by start: every
    fit and every score before the final one touches only the first 80 % of cases."""
    from mining.warning import quality

    store = generated(tmp_path / "data", CODE, 600, seed=3)
    tl = read_timeline(load_log(store, LogFilter(procedure=CODE)), DEADLINE)
    start = tl.dossiers["received"].sort_values(kind="stable")
    test = set(start.index[int(len(start) * 0.8) :])
    touched: list[set] = []
    real_train, real_mae = quality.train, quality.remaining_mae
    monkeypatch.setattr(
        quality, "train", lambda t, c, o: touched.append(set(c)) or real_train(t, c, o)
    )
    monkeypatch.setattr(
        quality, "remaining_mae", lambda t, m, c: touched.append(set(c)) or real_mae(t, m, c)
    )
    sel = quality.select_on_validation(tl, ((),), bags=(10, 40), targets=(True, False))
    assert len(sel.tried) == 3 and sel.chosen in sel.tried
    *choosing, final_train, final_score = touched
    assert len(choosing) == 2 * len(sel.tried)
    assert all(not (c & test) for c in choosing)
    valid = choosing[1]
    assert len(valid) == sel.validation_cases and max(start[list(valid)]) < min(start[list(test)])
    assert final_score == test and not (final_train & test)
    assert sel.chosen.validation_mae_days == min(c.validation_mae_days for c in sel.tried)
