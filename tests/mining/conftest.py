"""Stores for mining tests: real public logs loaded once per session, small hand-made logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ingest.schema import conform_table
from ingest.store import EventStore
from tests.conftest import real_log


@dataclass
class RealLog:
    """A real log as plain pm4py reads it, and the same events in a dvcflow store."""

    df: pd.DataFrame
    store: EventStore
    procedure: str


def dataframe_to_store(df: pd.DataFrame, store: EventStore, procedure: str) -> None:
    """pm4py DataFrame -> store rows; event ids keep file order for equal timestamps."""
    pos = df.groupby("case:concept:name", sort=False).cumcount()
    case = df["case:concept:name"].astype(str)
    resource = df["org:resource"].astype("string") if "org:resource" in df else None
    table = pa.table(
        {
            "event_id": case + "#" + pos.map("{:07d}".format),
            "case_id": case,
            "procedure_code": pd.Series(procedure, index=df.index),
            "activity": df["concept:name"].astype(str),
            "timestamp": df["time:timestamp"],
            "lifecycle": df.get("lifecycle:transition", pd.Series("complete", index=df.index)),
            "org_unit": (
                resource.fillna("unknown")
                if resource is not None
                else pd.Series("unknown", index=df.index)
            ),
            **({"resource": resource} if resource is not None else {}),
        }
    )
    store.write(conform_table(table), "import")


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], RealLog]:
    """``real_store(name)``: the real log ``name`` read by pm4py and loaded into a store,
    once per test session."""
    import pm4py

    loaded: dict[str, RealLog] = {}

    def get(name: str) -> RealLog:
        if name not in loaded:
            path: Path = real_log(name)
            df = pm4py.read_xes(str(path))
            procedure = name.split(".")[0].replace(" ", "_")
            store = EventStore(tmp_path_factory.mktemp(procedure) / "data")
            dataframe_to_store(df, store, procedure)
            loaded[name] = RealLog(df=df, store=store, procedure=procedure)
        return loaded[name]

    return get


VN = timezone(timedelta(hours=7))


def event(
    case: str,
    activity: str,
    when: datetime,
    *,
    procedure: str = "2.001610",
    lifecycle: str = "complete",
    org_unit: str = "C00001",
    province: str | None = "79",
    commune: str | None = "00001",
    channel: str = "internal",
    outcome: str | None = None,
    attributes: dict | None = None,
) -> dict:
    """One stored row of a hand-made log (times are local Vietnamese times when naive)."""
    ts = when if when.tzinfo else when.replace(tzinfo=VN)
    return {
        "event_id": f"{case}|{activity}|{lifecycle}|{ts.isoformat()}",
        "case_id": case,
        "procedure_code": procedure,
        "activity": activity,
        "timestamp": ts.astimezone(UTC),
        "lifecycle": lifecycle,
        "org_unit": org_unit,
        "province_code": province,
        "commune_code": commune,
        "channel": channel,
        "outcome": outcome,
        "attributes": json.dumps(attributes) if attributes else None,
    }


def write_rows(store: EventStore, rows: list[dict], name: str = "handmade") -> EventStore:
    store.write(conform_table(pa.Table.from_pylist(rows)), name)
    return store
