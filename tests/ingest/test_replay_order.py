"""Replay's external sort (sorted runs on disk, merged) against Python's sorted()."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson

import ingest.replay as replay


def _events(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    zones = [UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30))]
    start = datetime(2025, 7, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        event = {"event_id": f"e{i}", "case_id": f"c{rng.randrange(n // 5 + 1)}", "pad": "x" * 40}
        roll = rng.random()
        if roll < 0.9:  # few distinct instants: ties must keep file order
            moment = start + timedelta(minutes=rng.randrange(n // 20 + 1))
            event["timestamp"] = moment.astimezone(rng.choice(zones))
        elif roll < 0.95:
            event["timestamp"] = "not a time"
        out.append(event)
    return out


def _expected(events: list[dict]) -> list[str]:
    """Independent: Python's stable sort on aware datetimes, untimed last in file order."""
    timed = [e for e in events if isinstance(e.get("timestamp"), datetime)]
    untimed = [e for e in events if not isinstance(e.get("timestamp"), datetime)]
    return [e["event_id"] for e in sorted(timed, key=lambda e: e["timestamp"]) + untimed]


def _replayed(events: list[dict], chunk: int, tmp_path: Path) -> list[replay.Row]:
    chunks = (events[i : i + chunk] for i in range(0, len(events), chunk))
    return list(replay.ordered_events(chunks, tmp_path))


def test_sorted_like_python_with_ties_in_file_order(tmp_path: Path) -> None:
    events = _events(5_000, seed=5)
    rows = _replayed(events, 777, tmp_path)
    assert [orjson.loads(v)["event_id"] for _, _, v in rows] == _expected(events)
    by_id = {e["event_id"]: e for e in events}
    for ts, key, value in rows:
        event = by_id[orjson.loads(value)["event_id"]]
        assert key == event["case_id"].encode()
        assert value == replay.encode_event(event)
        stamp = event.get("timestamp")
        assert ts == (stamp.timestamp() * 1e6 if isinstance(stamp, datetime) else None)


def test_many_runs_merge_exactly(tmp_path: Path) -> None:
    """60,000 events in 23 sorted runs, merged back into one order."""
    events = _events(60_000, seed=9)
    rows = _replayed(events, 2_610, tmp_path)
    assert len(list(tmp_path.glob("run-*.arrow"))) == 23
    assert [orjson.loads(v)["event_id"] for _, _, v in rows] == _expected(events)


def test_spool_reports_first_and_last_times(tmp_path: Path) -> None:
    events = _events(2_000, seed=1)
    seen = replay.spool([events[:900], events[900:]], tmp_path)
    timed = [e for e in events if isinstance(e.get("timestamp"), datetime)]
    ordered = sorted(timed, key=lambda e: e["timestamp"])
    assert seen.count == len(events) and len(seen.runs) == 2
    assert seen.first is ordered[0]["timestamp"]
    assert seen.last is ordered[-1]["timestamp"]


def test_encode_events_matches_encoding_each_event() -> None:
    """Cut out of one orjson call, each value is byte for byte ``encode_event``'s."""
    import numpy as np

    events = [
        *_events(50, seed=2),
        {"event_id": "nl", "activity": "a,\n,b", "attributes": {"k": "x\n,y"}},
        {"event_id": "np", "fee": np.int64(5), "share": np.float64(0.5), "t": datetime(2025, 1, 1)},
        {},
    ]
    encoded = replay.encode_events(events).to_pylist()
    assert encoded == [replay.encode_event(e) for e in events]
