"""Stores for mining tests: real public logs loaded once per session, small hand-made logs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ingest.importers import ImportOptions, ImportReport, import_file
from ingest.importers.mapping import PM4PY_FIELDS
from ingest.importers.source import open_bytes
from ingest.pseudonym import Pseudonymizer
from ingest.schema import conform_table
from ingest.store import EventStore
from tests.conftest import TEST_KEY, real_log


@dataclass
class RealLog:
    """A real log as plain pm4py reads it, and the same file imported by dvcflow."""

    df: pd.DataFrame
    store: EventStore
    procedure: str
    report: ImportReport | None = None


# How each file of ../shared/real_logs imports: the options a user passes for it (naive
# times read as UTC, as pm4py does; the integer-coded activity column named), and how
# plain pm4py reads it (CSV separator). Every XES / CSV file there is listed.
CORPUS: dict[str, dict] = {
    "BPIC12.xes.gz": {},
    "BPIC13_closed_problems.xes.gz": {},
    "BPIC13_incidents.xes.gz": {},
    "BPIC15_1.xes.gz": {},
    "BPIC15_1_minimal.csv.gz": {},
    "BPIC15_2.xes.gz": {},
    "BPIC15_3.xes.gz": {},
    "BPIC19_1t_per_variant.xes.gz": {},
    "BPIC20_DomesticDeclarations.xes.gz": {},
    "BPIC20_PermitLog_1t_per_variant.xes.gz": {},
    "BPIC20_PrepaidTravelCost.xes.gz": {},
    "BPIC20_RequestForPayment.xes.gz": {},
    "ConsultaDataMining201618_acr.csv": {},
    "Hospital_Billing_1t_per_variant.xes.gz": {"timezone": "UTC"},
    "Sepsis_1t_per_variant.xes.gz": {},
    "env_permit_wabo_intcoded.csv": {
        "mapping": {"ActivityID": "activity", "CompleteTimestamp": "timestamp"},
        "timezone": "UTC",
    },
    "helpdesk.xes.gz": {},
    "hospital_billing_sample10k.csv.gz": {"timezone": "UTC"},
    "receipt.csv": {},
    "receipt.xes.gz": {},
    "roadtraffic100traces.csv": {},
    "roadtraffic100traces.xes": {},
    "roadtraffic50traces.xes": {"timezone": "UTC"},
    "roadtraffic_1t_per_variant.xes.gz": {"timezone": "UTC"},
    "running-example.csv": {},
    "running-example.xes": {},
    "sepsis.csv": {},
}
# The full road-traffic log (561,470 events) joins with DVCFLOW_TEST_FULL_LOGS=1.
FULL_LOG = "Road_Traffic_Fine_Management_Process.xes.gz"
# Activity names only: no trace names, no timestamps; the contract needs both.
UNTIMED = "roadtraffic_1t_per_variant_small.xes.gz"


def corpus_names() -> list[str]:
    names = list(CORPUS)
    if os.environ.get("DVCFLOW_TEST_FULL_LOGS") == "1":
        names.append(FULL_LOG)
    return names


def pm4py_frame(path: Path, options: dict) -> pd.DataFrame:
    """The file as plain pm4py reads it (CSV through pandas and ``format_dataframe``)."""
    import pm4py

    if ".xes" in path.name:
        return pm4py.read_xes(str(path))
    head = open_bytes(path, 4096).split(b"\n", 1)[0].decode()
    sep = ";" if head.count(";") > head.count(",") else ","
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    mapping = dict(options.get("mapping", {}))  # column -> field
    names = {"case": None, "activity": None, "timestamp": None}
    for column in df.columns:
        field = mapping.get(column) or PM4PY_FIELDS.get(column) or column.lower()
        field = {"case_id": "case", "caseid": "case", "case": "case"}.get(field, field)
        if field in names and names[field] is None:
            names[field] = column
    if names["timestamp"] is None:  # e.g. "end_timestamp", "CompleteTimestamp"
        names["timestamp"] = next(c for c in df.columns if "timestamp" in c.lower()
                                  and "start" not in c.lower())  # fmt: skip
    if names["case"] is None:
        names["case"] = next(c for c in df.columns if c.lower().startswith("case"))
    ts = names["timestamp"]
    df = df.drop(columns=[c for c in df.columns if c.lower().startswith("start_time")])
    df[ts] = pd.to_datetime(df[ts], utc=True, format="ISO8601")
    return pm4py.format_dataframe(
        df, case_id=names["case"], activity_key=names["activity"], timestamp_key=ts
    )


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], RealLog]:
    """``real_store(name)``: the real log ``name`` read by plain pm4py and imported by
    ``dvcflow import`` (``import_file``) into its own store, once per test session."""
    loaded: dict[str, RealLog] = {}

    def get(name: str) -> RealLog:
        if name not in loaded:
            path: Path = real_log(name)
            options = CORPUS.get(name, {})
            procedure = re.sub(r"[^0-9A-Za-z_-]", "_", name.split(".")[0])
            store = EventStore(tmp_path_factory.mktemp(procedure) / "data")
            report = import_file(
                path,
                store,
                ImportOptions(procedure=procedure, **options),
                pseudonymizer=Pseudonymizer(TEST_KEY.encode()),
            )
            df = pm4py_frame(path, options)
            loaded[name] = RealLog(df=df, store=store, procedure=procedure, report=report)
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
