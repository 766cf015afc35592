"""Vietnam's holiday table is loaded from its own module, without every country's."""

from __future__ import annotations

import subprocess
import sys

import holidays

from sample_logs.workdays import _vietnam_holidays


def test_same_days_as_the_holidays_registry() -> None:
    years = range(2000, 2036)
    ours = set(_vietnam_holidays()(years=years).keys())
    registry = set(holidays.country_holidays("VN", years=years).keys())
    assert ours == registry
    assert len(ours) > 5 * len(years)  # Tết alone is several days a year


def test_deadlines_do_not_import_every_country() -> None:
    code = (
        "import sys; from sample_logs.workdays import WorkCalendar; "
        "WorkCalendar()._ensure(2024, 2025); print('holidays.countries' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
