"""The CLI verbs, the XLSX brief against ``--json`` and the HTML brief in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess

import openpyxl
import pytest
from typer.testing import CliRunner

from dvcflow.cli import app
from dvcflow.settings import get_settings
from tests.e2e.browser import CHROMIUM, need_browser

pytestmark = pytest.mark.xdist_group("reform")
PROC = "1.004222"


@pytest.fixture
def cli(generated, monkeypatch):
    monkeypatch.setenv("DVCFLOW_DATA_DIR", str(generated.store.data_dir))
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result

    yield run
    get_settings.cache_clear()


def _json(result) -> dict:
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def outputs(generated, tmp_path_factory):
    """``reform --json`` plus the HTML and XLSX briefs, made once."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DVCFLOW_DATA_DIR", str(generated.store.data_dir))
    runner = CliRunner()
    out = tmp_path_factory.mktemp("brief")
    try:
        reform = runner.invoke(app, ["reform", "--procedure", PROC, "--json"])
        kpi = runner.invoke(app, ["kpi", "--procedure", PROC, "--by", "org-unit", "--json"])
        for fmt in ("html", "xlsx"):
            r = runner.invoke(
                app, ["report", "--procedure", PROC, "--format", fmt, "-o", str(out / f"b.{fmt}")]
            )
            assert r.exit_code == 0, r.output
    finally:
        mp.undo()
        get_settings.cache_clear()
    return {"reform": json.loads(reform.stdout), "kpi": json.loads(kpi.stdout), "dir": out}


def test_xlsx_holds_the_same_numbers_as_json(outputs):
    wb = openpyxl.load_workbook(outputs["dir"] / "b.xlsx", read_only=True)
    rows = list(wb["Candidates"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    sheet = [dict(zip(header, r, strict=True)) for r in body]
    cands = outputs["reform"]["candidates"]["candidates"]
    assert [r["step"] for r in sheet] == [c["step"] for c in cands]
    for row, cand in zip(sheet, cands, strict=True):
        assert row["rank"] == cand["rank"]
        assert row["recommendation"] == cand["recommendation"]
        assert row["working_days_total"] == pytest.approx(cand["saving"]["working_days_total"])
        assert row["working_days_per_affected_dossier"] == pytest.approx(
            cand["saving"]["working_days_per_affected_dossier"]
        )
        assert row["dossiers"] == cand["evidence"]["dossiers"]
        assert row["failure_rate"] == pytest.approx(cand["evidence"].get("failure_rate"))
    summary = dict(wb["Summary"].iter_rows(values_only=True))
    ready = outputs["reform"]["readiness"]["procedures"][0]
    assert summary["full_online_share"] == pytest.approx(ready["full_online_share"])
    kpi_rows = list(wb["KPI"].iter_rows(values_only=True))
    by_unit = {r[0]: r for r in kpi_rows[1:]}
    for row in outputs["kpi"]["rows"]:
        assert by_unit[row["org-unit"]][2] == pytest.approx(row["index_100"])


@pytest.mark.e2e
def test_html_brief_opens_in_headless_chromium_and_shows_the_candidates(outputs):
    need_browser()
    page = outputs["dir"] / "b.html"
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    shown = re.findall(r'<tr class="candidate" data-step="([^"]+)"', dom)
    cands = outputs["reform"]["candidates"]["candidates"]
    assert shown == [c["step"] for c in cands]
    top = cands[0]
    assert top["label"]["vi"] in dom and top["recommendation_label"]["vi"] in dom
    assert top["reasons"][0]["en"] in dom
    steps = [c for c in cands if c["kind"] == "step"]
    assert dom.count("<rect") == len(steps)  # one box per step on the process map
    assert 'id="whatif"' in dom and 'id="kpi"' in dom and 'id="bottlenecks"' in dom


def test_whatif_cli_table(cli, generated):
    step = generated.truth["removable_step"]["step"]
    table = cli("whatif", "--procedure", PROC, "--remove", step, "--by", "province").stdout
    affected = generated.truth["removable_step"]["cases_with_step"]
    assert f"{affected} dossiers affected" in table and "Queues" in table
    assert "province" in table and "│ 79 " in table


def test_impact_and_kpi_cli(cli, generated):
    planted = generated.truth["reform"]
    data = _json(
        cli("impact", "--procedure", planted["procedure"], "--date", planted["date"], "--json")
    )
    assert data["verdict"] == "improved"
    table = cli("kpi", "--by", "province").stdout
    assert "not scored" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reform"], "--procedure: reform needs one procedure"),
        (["whatif", "--procedure", PROC, "--remove", "nope"], "no step 'nope'"),
        (["impact", "--procedure", PROC, "--date", "2031-01-01"], "--date 2031-01-01"),
        (["reform", "--procedure", "9.999999"], "no such procedure"),
        (["kpi", "--by", "district"], "district"),
    ],
)
def test_user_errors_are_one_line_without_traceback(cli, args, message):
    result = cli(*args, code=2)
    assert message in result.output
    assert "Traceback" not in result.output
