"""``dvcflow import`` on bad and good input, through the real CLI (typer's CliRunner).

Bad input: exit code 2, one message naming the file and the row/line or field, never a
traceback; valid rows are kept, or none with ``--strict``.
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from dvcflow.cli import app
from ingest.store import EventStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = "case:concept:name,concept:name,time:timestamp,org:resource\n"


def run(data_dir: Path, *args: str):
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "import", *map(str, args)])
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    return result, output


def count(data_dir: Path) -> int:
    return EventStore(data_dir).read_table().num_rows


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def good_rows(n: int) -> str:
    return "".join(f"c{i % 2},step{i},2025-07-0{1 + i}T08:00:00+07:00,r{i}\n" for i in range(n))


def test_ragged_csv_row_is_reported_and_the_rest_kept(tmp_path: Path):
    path = write(tmp_path, "ragged.csv", HEADER + good_rows(2) + "c9,oops\n" + good_rows(1))
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2
    assert "ragged.csv" in out and "expected 4 cells, found 2" in out
    # the two rows before and the one after: a row like row 1 but at another position in
    # its case is another event
    assert count(tmp_path / "data") == 3


def test_missing_column_names_file_and_field(tmp_path: Path):
    path = write(tmp_path, "nots.csv", "case:concept:name,concept:name\nc1,a\n")
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2
    assert "nots.csv" in out and "timestamp" in out and "--map" in out
    assert count(tmp_path / "data") == 0


def test_unparseable_timestamp_names_row_and_field(tmp_path: Path):
    path = write(
        tmp_path, "badtime.csv", HEADER + good_rows(3) + "c1,late,31/02/2025 25:00+07:00,r\n"
    )
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2
    assert "badtime.csv" in out and "row 4" in out and "timestamp" in out
    assert count(tmp_path / "data") == 3


def test_naive_timestamps_need_a_timezone(tmp_path: Path):
    rows = "c1,receive,2025-07-01 08:00:00,r1\nc1,approve,2025-07-02 09:30:00,r2\n"
    path = write(tmp_path, "naive.csv", HEADER + rows)
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2
    assert "naive.csv" in out and "row 1" in out and "--timezone" in out
    assert count(tmp_path / "data") == 0

    result, out = run(tmp_path / "data", path, "--timezone", "Asia/Ho_Chi_Minh")
    assert result.exit_code == 0, out
    got = sorted(EventStore(tmp_path / "data").read_table()["timestamp"].to_pylist())
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    want = [datetime(2025, 7, 1, 8, tzinfo=hcm), datetime(2025, 7, 2, 9, 30, tzinfo=hcm)]
    assert got == want


def test_naive_times_are_summed_up_once_naming_the_option(tmp_path: Path):
    rows = "".join(f"c1,a{i},2025-07-0{i + 1} 08:00:00,r\n" for i in range(3))
    path = write(tmp_path, "naive.csv", HEADER + rows)
    result, out = run(tmp_path / "data", path, "--json")
    report = json.loads(result.stdout)
    assert any("3 of 3 event(s) have times without a UTC offset" in n and "--timezone UTC" in n
               for n in report["notes"]), report["notes"]  # fmt: skip


def test_common_column_spellings_need_no_map(tmp_path: Path):
    """The WABO export's CaseID / ActivityID / CompleteTimestamp, and spaced names."""
    path = write(
        tmp_path, "wabo.csv",
        "Case ID,ActivityID,CompleteTimestamp\nc1,540,2025-07-01T08:00:00+07:00\n"
        "c1,541,2025-07-01T09:00:00+07:00\n",
    )  # fmt: skip
    result, out = run(tmp_path / "data", path, "--json")
    assert result.exit_code == 0, out
    notes = " ".join(json.loads(result.stdout)["notes"])
    for taken in ("'Case ID' as case_id", "'ActivityID' as activity",
                  "'CompleteTimestamp' as timestamp"):  # fmt: skip
        assert taken in notes
    rows = EventStore(tmp_path / "data").read_table().to_pylist()
    assert [(r["case_id"], r["activity"]) for r in rows] == [("c1", "540"), ("c1", "541")]


def test_two_columns_of_the_same_spelling_family_need_a_map(tmp_path: Path):
    path = write(
        tmp_path, "two.csv",
        "case_id,activity,end_timestamp,datetime\nc1,a,2025-07-01T08:00:00Z,2025-07-01T09:00:00Z\n",
    )  # fmt: skip
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2
    assert "'datetime', 'end_timestamp'" in out and "--map COLUMN=timestamp" in out
    result, out = run(tmp_path / "data", path, "--map", "datetime=timestamp")
    assert result.exit_code == 0, out


def test_real_wabo_export_imports_without_a_map(tmp_path: Path):
    from tests.conftest import real_log

    path = real_log("env_permit_wabo_intcoded.csv")
    result, out = run(tmp_path / "data", path, "--timezone", "UTC")
    assert result.exit_code == 0, out
    assert count(tmp_path / "data") == 38944


def test_unknown_timezone_is_a_user_error(tmp_path: Path):
    path = write(tmp_path, "ok.csv", HEADER + good_rows(1))
    result, out = run(tmp_path / "data", path, "--timezone", "Mars/Olympus")
    assert result.exit_code == 2 and "--timezone" in out and "Mars/Olympus" in out


def test_unknown_format(tmp_path: Path):
    path = write(tmp_path, "log.dat", "just some words\n")
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2 and "log.dat" in out and "--format" in out
    result, out = run(tmp_path / "data", path, "--format", "excel")
    assert result.exit_code == 2 and "excel" in out


def test_missing_file(tmp_path: Path):
    result, out = run(tmp_path / "data", tmp_path / "nope.csv")
    assert result.exit_code == 2 and "nope.csv" in out


def test_strict_writes_nothing_when_a_row_is_bad(tmp_path: Path):
    path = write(tmp_path, "one_bad.csv", HEADER + good_rows(3) + "c1,x,not a time,r\n")
    result, out = run(tmp_path / "data", path, "--strict")
    assert result.exit_code == 2 and "nothing written" in out and "row 4" in out
    assert count(tmp_path / "data") == 0
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2 and count(tmp_path / "data") == 3


def test_contract_error_names_the_field(tmp_path: Path):
    rows = good_rows(2) + f"c1,{'x' * 201},2025-07-05T08:00:00+07:00,r\n"
    path = write(tmp_path, "longact.csv", HEADER + rows)
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2 and "row 3" in out and "activity" in out
    assert count(tmp_path / "data") == 2


def test_malformed_xes_and_json(tmp_path: Path):
    xes = tmp_path / "broken.xes.gz"
    xes.write_bytes(gzip.compress(b"<log><trace><event><string key='concept:name'"))
    result, out = run(tmp_path / "data", xes)
    assert result.exit_code == 2 and "broken.xes.gz" in out
    portal = write(tmp_path, "dossiers.json", '{"HoSo": [{"MaHoSo": "x", ')
    result, out = run(tmp_path / "data", portal)
    assert result.exit_code == 2 and "dossiers.json" in out and "JSON" in out


def test_map_names_unknown_column_and_field(tmp_path: Path):
    path = write(tmp_path, "m.csv", "CaseID,Act,When\nc1,a,2025-07-01T08:00:00Z\n")
    result, out = run(tmp_path / "data", path, "--map", "Nope=activity")
    assert result.exit_code == 2 and "'Nope'" in out and "m.csv" in out
    result, out = run(tmp_path / "data", path, "--map", "Act=activityy")
    assert result.exit_code == 2 and "activityy" in out
    result, out = run(
        tmp_path / "data", path, "--map", "Act=concept:name", "--map", "When=timestamp",
        "--procedure", "1.001193", "--org-unit", "C26734",
    )  # fmt: skip
    assert result.exit_code == 0, out
    row = EventStore(tmp_path / "data").read_table().to_pylist()[0]
    assert (row["case_id"], row["activity"], row["procedure_code"], row["org_unit"]) == (
        "c1", "a", "1.001193", "C26734",
    )  # fmt: skip


def test_fills_are_reported_and_reimport_changes_nothing(tmp_path: Path):
    path = write(tmp_path, "tiny-log.csv", HEADER + good_rows(4))
    result, out = run(tmp_path / "data", path, "--json")
    assert result.exit_code == 0, out
    report = json.loads(result.stdout)
    assert set(report["filled"]) == {"procedure_code", "org_unit", "event_id"}
    assert "tiny-log" in report["filled"]["procedure_code"]
    store = EventStore(tmp_path / "data")
    files, version_rows = sorted(store.files()), count(tmp_path / "data")
    run(tmp_path / "data", path)
    assert sorted(store.files()) == files and count(tmp_path / "data") == version_rows == 4


def test_xes_lifecycle_maps_start_complete_and_keeps_others(tmp_path: Path):
    path = FIXTURES / "lifecycle.xes"
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 0, out
    ns = {"x": "http://www.xes-standard.org/"}
    transitions = [
        e.find("x:string[@key='lifecycle:transition']", ns).get("value")
        for e in ET.parse(path).getroot().iter("{http://www.xes-standard.org/}event")
    ]
    table = EventStore(tmp_path / "data").read_table().to_pylist()
    got = Counter(r["lifecycle"] for r in table)
    low = Counter(t.lower() for t in transitions)
    others = sum(v for k, v in low.items() if k not in ("start", "complete"))
    assert got == {"start": low["start"], "complete": low["complete"] + others}
    kept = Counter(json.loads(r["attributes"]).get("lifecycle:transition") for r in table
                   if r["attributes"])  # fmt: skip
    assert {k: v for k, v in kept.items() if k} == {
        t: n for t, n in Counter(transitions).items() if t.lower() not in ("start", "complete")
    }


def _portal_expectations(doc: dict) -> dict[str, int]:
    """Events per dossier, worked out from the JSON by the documented mapping."""
    out = {}
    for d in doc["HoSo"]:
        updates = d.get("QuaTrinhXuLy", [])
        n = len(updates) + sum(
            1 for u in updates if u.get("NgayBatDau") and u["NgayBatDau"] < u["ThoiDiemXuLy"]
        )
        statuses = {u["TrangThai"] for u in updates}
        for key, status in (("NgayTiepNhan", 2), ("NgayKetThucXuLy", 9), ("NgayTra", 10)):
            n += bool(d.get(key)) and status not in statuses
        out[d["MaHoSo"]] = n
    return out


def test_portal_json_fixture(tmp_path: Path):
    path = FIXTURES / "portal_dossiers.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 0, out
    rows = EventStore(tmp_path / "data").read_table().to_pylist()
    assert Counter(r["case_id"] for r in rows) == _portal_expectations(doc)
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    for d in doc["HoSo"]:
        mine = sorted(
            (r for r in rows if r["case_id"] == d["MaHoSo"]), key=lambda r: r["timestamp"]
        )
        first, last = mine[0], mine[-1]
        received = datetime.strptime(d["NgayTiepNhan"], "%Y%m%d%H%M%S").replace(tzinfo=hcm)
        assert first["timestamp"] <= received
        assert (
            json.loads(first["attributes"])["due_date"]
            == datetime.strptime(d["NgayHenTra"], "%Y%m%d%H%M%S").isoformat()
        )
        assert {r["procedure_code"] for r in mine} == {d["MaTTHC"]}
        assert {r["org_unit"] for r in mine} == {d["DonViXuLy"]}
        channel = {1: "counter", 2: "online", 3: "postal"}[d["KenhThucHien"]]
        assert any(r["activity"] == "receive" and r["channel"] == channel for r in mine)
        final = {10: "approved", 7: "withdrawn", 4: None}[d["TrangThaiHoSo"]]
        assert last["outcome"] == final
    blob = b"".join(p.read_bytes() for p in EventStore(tmp_path / "data").files())
    flat = json.dumps(rows, default=str)
    for d in doc["HoSo"]:
        for personal in (d.get("MaDoiTuong"), d.get("ChuHoSo"), d.get("SoDienThoai")):
            if personal:
                assert personal not in flat and personal.encode() not in blob


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_parquet_and_csv_exports_of_the_store_reimport_identically(tmp_path: Path, fmt: str):
    """A pm4py-style Parquet/CSV written from one import gives the same events again."""
    import pandas as pd

    src = write(tmp_path, "orig.csv", HEADER + good_rows(6))
    run(tmp_path / "a", src)
    table = EventStore(tmp_path / "a").read_table().to_pandas()
    export = table.rename(
        columns={"case_id": "case:concept:name", "activity": "concept:name",
                 "timestamp": "time:timestamp", "resource": "org:resource"}
    ).drop(columns=["ingested_at", "applicant_ref"])  # fmt: skip
    target = tmp_path / f"export.{fmt}"
    if fmt == "csv":
        export.to_csv(target, index=False)
    else:
        export.to_parquet(target)
    result, out = run(tmp_path / "b", target)
    assert result.exit_code == 0, out
    cols = ["event_id", "case_id", "activity", "timestamp", "resource", "procedure_code"]
    a = EventStore(tmp_path / "a").read_table().to_pandas()[cols].sort_values("event_id")
    b = EventStore(tmp_path / "b").read_table().to_pandas()[cols].sort_values("event_id")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_generated_sample_log_imports_as_written(tmp_path: Path, fmt: str):
    """Our own generated logs (Parquet, and CSV with attributes as JSON text)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from ingest.pseudonym import Pseudonymizer
    from tests.conftest import TEST_KEY

    source = Path(__file__).resolve().parents[2] / "sample_logs" / "data" / "events.parquet"
    table = pq.read_table(source).slice(0, 1500)
    path = tmp_path / f"sample.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 0, out
    got = {r["event_id"]: r for r in EventStore(tmp_path / "data").read_table().to_pylist()}
    ref = Pseudonymizer(TEST_KEY.encode()).ref
    assert len(got) == len({r["event_id"] for r in table.to_pylist()})
    for want in table.to_pylist():
        row = got[want["event_id"]]
        for name in ("case_id", "procedure_code", "activity", "lifecycle", "org_unit",
                     "channel", "outcome", "timestamp"):  # fmt: skip
            assert row[name] == want[name], name
        assert row["applicant_ref"] == ref(want["applicant_id"])
        assert json.loads(row["attributes"] or "null") == json.loads(want["attributes"] or "null")


def test_naive_parquet_times_need_a_timezone(tmp_path: Path):
    import pandas as pd

    path = tmp_path / "naive.parquet"
    when = pd.to_datetime(["2025-07-01 08:00", "2025-07-01 09:30"])  # no zone
    pd.DataFrame({"case_id": ["a", "a"], "activity": ["x", "y"], "timestamp": when}).to_parquet(
        path
    )
    result, out = run(tmp_path / "data", path)
    assert result.exit_code == 2 and "naive.parquet" in out and "--timezone" in out
    result, out = run(tmp_path / "data", path, "--timezone", "UTC")
    assert result.exit_code == 0, out
    got = sorted(EventStore(tmp_path / "data").read_table()["timestamp"].to_pylist())
    assert [t.replace(tzinfo=None) for t in got] == list(when.to_pydatetime())


def test_read_events_skips_or_raises_on_rows_that_are_no_event(tmp_path: Path):
    from dvcflow.errors import InputFileError
    from ingest.importers import ImportOptions, ImportReport, read_events

    path = write(tmp_path, "mixed.csv", HEADER + good_rows(2) + "c1,x,2025-07-09 10:00,r\n")
    with pytest.raises(InputFileError, match=r"mixed\.csv row 3: timestamp"):
        list(read_events(path, ImportOptions()))
    report = ImportReport(path=path, format="csv")
    events = [e for chunk in read_events(path, ImportOptions(chunk_rows=1), report) for e in chunk]
    assert [e["activity"] for e in events] == ["step0", "step1"]
    assert report.rejected == 1 and report.errors[0].where == "row 3"
    assert all(e["timestamp"].tzinfo is not None for e in events)


def test_naive_xes_times_are_not_taken_for_utc(tmp_path: Path):
    """pm4py reads offset-less XES times as UTC; the importer must ask instead."""
    aware = FIXTURES / "lifecycle.xes"
    naive = tmp_path / "naive.xes"
    naive.write_text(aware.read_text().replace('.000+07:00"', '"'))
    result, out = run(tmp_path / "n", naive)
    assert result.exit_code == 2 and "naive.xes" in out and "--timezone" in out
    assert count(tmp_path / "n") == 0
    result, out = run(tmp_path / "n", naive, "--timezone", "Asia/Ho_Chi_Minh")
    assert result.exit_code == 0, out
    run(tmp_path / "a", aware)

    def stamps(d: Path) -> list:
        return sorted(EventStore(d).read_table()["timestamp"].to_pylist())

    assert stamps(tmp_path / "n") == stamps(tmp_path / "a")
