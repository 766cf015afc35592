"""Numbers, shares, durations and dates as an official reads them, in the page's language.

One place for every figure shown: Vietnamese uses ``.`` for thousands and ``,`` for decimals
("20.000", "2,6 ngày", "04/12/2026"), English the reverse. Babel holds the locale rules so no
page writes its own ``f"{x:,.1f}"``.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

LOCALES = {"vi": "vi_VN", "en": "en_US"}
DASH = "–"


def _locale(lang: str) -> str:
    return LOCALES.get(lang, "vi_VN")


def number(value: float | int | None, lang: str, digits: int = 1) -> str:
    """A number with the locale's separators; integers without decimals."""
    if value is None or (isinstance(value, float) and value != value):
        return DASH
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, int):
        return format_decimal(value, format="#,##0", locale=_locale(lang))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=_locale(lang))


def percent(share: float | None, lang: str, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage: ``0.857`` → "85,7%" (vi) / "85.7%" (en)."""
    if share is None or share != share:
        return DASH
    return number(100 * float(share), lang, digits) + "%"


def days(value: float | None, lang: str, working: bool = True, digits: int = 1) -> str:
    """A duration in (working) days: "2,6 ngày LV" / "2.6 working days"; a small non-zero
    one keeps two decimals ("0,01 ngày LV", not a misleading "0,0")."""
    if value is None or value != value:
        return DASH
    if digits == 1 and 0 < abs(value) < 0.05:
        digits = 2
    unit = ("ngày LV", "working days") if working else ("ngày", "days")
    return f"{number(float(value), lang, digits)} {unit[0] if lang == 'vi' else unit[1]}"


def hours(value: float | None, lang: str, digits: int = 1) -> str:
    if value is None or value != value:
        return DASH
    return f"{number(float(value), lang, digits)} {'giờ' if lang == 'vi' else 'h'}"


def day(value: date | datetime | None, lang: str) -> str:
    """A date: dd/mm/yyyy in Vietnamese, yyyy-mm-dd in English (unambiguous for both)."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "dd/MM/yyyy" if lang == "vi" else "yyyy-MM-dd", locale=_locale(lang))


def moment(value: datetime | None, lang: str, tz: tzinfo | None = None) -> str:
    """A date and time, in ``tz`` (the deployment's zone) when given."""
    if value is None:
        return DASH
    if tz is not None and value.tzinfo is not None:
        value = value.astimezone(tz)
    pattern = "dd/MM/yyyy HH:mm" if lang == "vi" else "yyyy-MM-dd HH:mm"
    return format_datetime(value, pattern, locale=_locale(lang))


def value(v: Any, lang: str, digits: int = 1) -> str:
    """Any figure cell: numbers and dates formatted, text as is."""
    if v is None:
        return DASH
    if isinstance(v, bool | int | float):
        return number(v, lang, digits)
    if isinstance(v, datetime):
        return moment(v, lang)
    if isinstance(v, date):
        return day(v, lang)
    return str(v)


def table_format(lang: str, digits: int = 1, percent: bool = False) -> dict[str, Any]:
    """A DataTable column format with the language's separators (cells stay numbers, so a
    column still sorts by value): "20.000", "85,7%" in Vietnamese."""
    vi = lang != "en"
    return {
        "locale": {"decimal": "," if vi else ".", "group": "." if vi else ","},
        "specifier": f",.{digits}{'%' if percent else 'f'}",
    }


def quality_cells(point: Any, lang: str) -> list[str]:
    """One row of the early warning's quality card (a ``mining.warning`` evaluation point),
    as both the CLI and the page show it."""
    return [
        percent(point.share, lang, 0),
        number(point.dossiers, lang),
        number(point.late, lang),
        number(point.auc_model, lang, 3),
        number(point.auc_rule, lang, 3),
        number(point.brier_model, lang, 3),
        number(point.brier_rule, lang, 3),
        percent(point.precision_model_at_rule_recall, lang),
    ]
