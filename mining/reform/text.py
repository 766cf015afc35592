"""Bilingual wording of reform findings, in the words an official uses."""

from __future__ import annotations

RECOMMENDATIONS = {
    "replace_by_data": ("Thay bằng khai thác dữ liệu", "Replace by data reuse"),
    "remove": ("Bãi bỏ bước", "Remove the step"),
    "merge": ("Gộp với bước liền trước", "Merge with the previous step"),
    "make_online": ("Chuyển sang trực tuyến", "Make it online"),
    "automate": ("Tự động hóa", "Automate"),
    "keep": ("Giữ nguyên", "Keep"),
}


def num(value: float | None, digits: int = 1, lang: str = "en") -> str:
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if lang == "vi":  # 1,234.5 -> 1.234,5
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def pct(value: float | None, lang: str = "en") -> str:
    return "–" if value is None else num(100 * value, 1, lang) + "%"


def label(key: str) -> dict[str, str]:
    vi, en = RECOMMENDATIONS[key]
    return {"vi": vi, "en": en}


def sentence(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}
