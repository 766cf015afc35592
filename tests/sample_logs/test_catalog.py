"""The packaged catalog loads, says what DOMAIN.md says, and bad files are named clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dvcflow.settings import get_settings
from sample_logs.catalog import (
    PACKAGED_DIR,
    CatalogError,
    StepKind,
    get_procedure,
    load_catalog,
)

DATABASES = {"population_db", "vneid", "business_registry", "land_db", "judicial_db", "health_db"}


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(PACKAGED_DIR, folder)
    return folder


def _edit(folder: Path, code: str, change) -> Path:
    path = folder / f"{code}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_packaged_catalog_has_the_domain_procedures() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 8
    birth = catalog["1.001193"]
    assert birth.code_verified and birth.level == "commune"
    assert birth.deadline_working_days == 0
    assert birth.name.vi == "Đăng ký khai sinh"
    judicial = next(p for p in catalog.values() if "Judicial" in p.name.en)
    assert (judicial.deadline_working_days, judicial.deadline_working_days_verification) == (10, 15)
    land = next(p for p in catalog.values() if "land" in p.name.en.lower())
    assert land.deadline_working_days == 20 and land.level == "province"
    deadlines = {p.name.en.split()[0]: p.deadline_working_days for p in catalog.values()}
    assert deadlines["Business"] == 3 and deadlines["Driver"] == 5


def test_every_procedure_follows_the_one_stop_flow() -> None:
    for proc in load_catalog().values():
        kinds = [s.kind for s in proc.steps]
        assert kinds[0] is StepKind.submission
        assert StepKind.result in kinds
        assert StepKind.approval in kinds
        assert proc.step_codes.index("receive") < proc.step_codes.index("return_result")
        assert {"request_supplement", "submit_supplement"} <= set(proc.step_codes)
        assert all(s.repeatable for s in proc.steps if s.kind is StepKind.supplement)
        for step in proc.steps:
            assert step.replaceable_by_data in DATABASES | {None}, (proc.code, step.code)
            assert step.label.vi != step.label.en
        if not proc.code_verified:
            assert proc.code != "1.001193"


def test_catalog_marks_blockers_and_data_reuse() -> None:
    steps = [s for p in load_catalog().values() for s in p.steps]
    assert any(s.requires_presence and s.citizen_facing for s in steps)  # originals at counter
    assert any(s.kind is StepKind.result and s.paper for s in steps)  # paper-only result
    assert any(s.kind is StepKind.approval and s.paper for s in steps)  # wet signature
    used = {s.replaceable_by_data for s in steps} - {None}
    assert {"population_db", "judicial_db", "business_registry", "land_db"} <= used


def test_linked_procedure_hands_over_from_commune_to_province() -> None:
    linked = get_procedure("1.004193")
    assert linked is not None
    transfers = [s for s in linked.steps if s.kind is StepKind.transfer]
    assert len(transfers) >= 2
    after = linked.steps[linked.step_codes.index(transfers[-1].code) + 1]
    assert linked.unit_code(transfers[-1].unit, "31", "11311").startswith("C11311")
    assert linked.unit_code(after.unit, "31", "11311") == "P31.BHXH"


def test_mandatory_steps_and_lookup() -> None:
    proc = get_procedure("1.004222")
    assert proc is not None
    assert "request_supplement" not in [s.code for s in proc.mandatory_steps]
    assert proc.step("check_residence_paper").replaceable_by_data == "population_db"
    assert proc.step("nope") is None
    assert get_procedure("9.999999") is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["steps"][1].update(kind="bogus"), "steps.1.kind"),
        (lambda d: d.pop("deadline_working_days"), "deadline_working_days"),
        (lambda d: d["name"].pop("vi"), "name.vi"),
        (lambda d: d["steps"][2].update(colour="red"), "steps.2.colour"),
        (lambda d: d.update(level="district"), "level"),
    ],
)
def test_bad_file_names_file_and_field(catalog_copy: Path, change, field: str) -> None:
    path = _edit(catalog_copy, "1.004222", change)
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_copy)
    assert str(path) in str(err.value)
    assert f"field {field}" in str(err.value)


def test_bad_json_and_misnamed_file(catalog_copy: Path) -> None:
    (catalog_copy / "1.004222.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"1\.004222\.json is not valid JSON \(line 1"):
        load_catalog(catalog_copy)
    shutil.copy(PACKAGED_DIR / "1.004222.json", catalog_copy / "1.004222.json")
    shutil.move(catalog_copy / "1.004222.json", catalog_copy / "1.111111.json")
    with pytest.raises(CatalogError, match=r"1\.111111\.json: field code"):
        load_catalog(catalog_copy)


def test_duplicate_step_codes_are_refused(catalog_copy: Path) -> None:
    _edit(catalog_copy, "1.001193", lambda d: d["steps"].append(d["steps"][-1]))
    with pytest.raises(CatalogError, match="repeated: withdraw"):
        load_catalog(catalog_copy)


def test_catalog_dir_setting_overrides_and_cli_shows_one_line(
    catalog_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for extra in catalog_copy.glob("*.json"):
        if extra.stem not in ("1.001193", "1.004222"):
            extra.unlink()
    monkeypatch.setenv("DVCFLOW_CATALOG_DIR", str(catalog_copy))
    get_settings.cache_clear()
    try:
        assert sorted(load_catalog()) == ["1.001193", "1.004222"]
        _edit(catalog_copy, "1.004222", lambda d: d["steps"][1].update(actor="robot"))
        from dvcflow.cli import app

        result = CliRunner().invoke(app, ["generate", "--cases", "10", "--out", "x"])
        assert result.exit_code == 2
        assert "steps.1.actor" in result.output and "Traceback" not in result.output
    finally:
        get_settings.cache_clear()
