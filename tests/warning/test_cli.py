"""``dvcflow warn``: the list as JSON and as a workbook, and clear errors."""

from __future__ import annotations

import json

from openpyxl import load_workbook
from typer.testing import CliRunner

from dvcflow.cli import app

runner = CliRunner()


def warn(store, *args: str):
    return runner.invoke(app, ["--data-dir", str(store.data_dir), "warn", *args])


def test_json_lists_the_riskiest_open_dossiers_first(warn_store):
    got = warn(warn_store, "--procedure", "1.004193", "--top", "5", "--json", "--no-quality")
    assert got.exit_code == 0, got.output
    result = json.loads(got.output)
    probabilities = [i["probability_late"] for i in result["items"]]
    assert len(probabilities) == 5 and probabilities == sorted(probabilities, reverse=True)
    assert result["open_dossiers"] >= 5 and result["method"] == "model"


def test_workbook_holds_the_same_list(warn_store, tmp_path):
    out = tmp_path / "warn.xlsx"
    args = ("--procedure", "1.004193", "--top", "7", "--no-quality")
    got = warn(warn_store, *args, "--format", "xlsx", "-o", str(out))
    assert got.exit_code == 0, got.output
    listed = json.loads(warn(warn_store, *args, "--json").output)["items"]
    rows = list(load_workbook(out)["Cảnh báo"].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in rows] == [i["case_id"] for i in listed]


def test_unknown_procedure_is_one_clear_line(warn_store):
    got = warn(warn_store, "--procedure", "9.999999")
    assert got.exit_code == 2 and "--procedure 9.999999" in got.output


def test_the_list_names_units_not_codes(warn_store):
    """Officials read names: the JSON carries both, the printed list the name only."""
    from sample_logs import names

    args = ("--procedure", "1.004193", "--top", "5", "--no-quality")
    items = json.loads(warn(warn_store, *args, "--json").output)["items"]
    for i in items:
        assert i["unit_name"]["vi"] == names.unit_name(i["unit"], "vi") != i["unit"]
        assert i["province_name"] == names.province_name(i["province"]) != i["province"]
    text = warn(warn_store, *args, "--lang", "vi").output
    assert items[0]["unit_name"]["vi"] in text
    assert f"@ {items[0]['unit']}" not in text
    assert "Mô hình huấn luyện lúc" in text
