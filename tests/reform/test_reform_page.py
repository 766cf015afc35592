"""The reform page leads with the savings chart, shows Vietnamese formats and catalog names,
and its what-if shows mining's scenario with the differences (rendered in-process; the
browser check is tests/e2e/test_dashboard.py)."""

from __future__ import annotations

import re

import pytest

from dashboard.pages import reform
from dashboard.service import Service
from dvcflow.settings import Settings
from mining.filters import LogFilter
from mining.reform import whatif
from mining.reform.whatif import Change

pytestmark = pytest.mark.xdist_group("reform")


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):  # a component, not text
            yield from walk(child)


def by_id(page, wanted: str):
    return next(c for c in walk(page) if getattr(c, "id", None) == wanted)


@pytest.fixture(scope="module")
def svc(generated_all) -> Service:
    return Service(Settings(data_dir=generated_all.store.data_dir, web_warm_cache=False))


@pytest.fixture(scope="module")
def values(generated_all) -> tuple:
    truth = generated_all.truth["handoff_bottleneck"]
    return (truth["procedure"], truth["province"], None, None, None, None, "v")


def test_the_page_leads_with_the_savings_chart_in_vietnamese(svc, values):
    page = reform.render(svc, values, "vi")
    ids = [getattr(c, "id", None) for c in walk(page)]
    assert ids.index("rf-chart") < ids.index("rf-candidates")
    assert "tổng" in by_id(page, "rf-savings-note").children.lower()
    chart = by_id(page, "rf-chart").figure["data"][0]
    assert chart["x"] == sorted(chart["x"])  # largest at the top of a horizontal bar chart
    rows = [c for c in walk(by_id(page, "rf-candidates")) if getattr(c, "className", "")
            and str(c.className).startswith("candidate ")]  # fmt: skip
    first = [td.children for td in rows[0].children]
    assert "Cấp thẻ bảo hiểm y tế" in first[2] and "Hải Phòng" in first[2]  # catalog names
    assert re.fullmatch(r"\d+,\d ngày LV", first[5]) and re.fullmatch(
        r"[\d.]+,\d ngày LV", first[7]
    )
    shown = " ".join(str(td.children) for r in rows for td in r.children)
    assert not re.search(r",\d{3}(?!\d)", shown)  # no 3-decimal score (Vietnamese comma)


def test_ticking_the_top_row_shows_minings_scenario_and_its_differences(svc, values, generated_all):
    shown = reform.run_whatif(svc, 1, [[0]], *values, "vi")
    found = reform._candidates(svc, *values[:-1])["candidates"][0]
    flt = LogFilter(procedure=values[0], province=values[1])
    want = whatif(generated_all.store, flt, changes=[Change(**found["whatif"])])
    rows = by_id(shown, "rf-whatif-table").data  # mean, median, on-time, online, visits

    def vi(text: str) -> float:
        return float(re.search(r"[-+]?[\d.]*\d(?:,\d+)?", text).group(0).replace(".", "")
                     .replace(",", "."))  # fmt: skip

    base = want["baseline"]["cycle_working_days"]["mean"]
    new = want["scenario"]["cycle_working_days"]["mean"]
    cycle = rows[0]
    assert vi(cycle["baseline"]) == pytest.approx(base, abs=0.06)
    assert vi(cycle["projected"]) == pytest.approx(new, abs=0.06)
    assert vi(cycle["difference"]) == pytest.approx(new - base, abs=0.06)
    on_time = rows[2]
    diff = want["scenario"]["on_time_rate"] - want["baseline"]["on_time_rate"]
    assert vi(on_time["difference"]) == pytest.approx(100 * diff, abs=0.06)
    steps = by_id(shown, "rf-waterfall").figure["data"][0]
    assert steps["measure"] == ["absolute", "relative", "total"]
    assert steps["y"][0] + steps["y"][1] == pytest.approx(steps["y"][2], abs=0.01)
