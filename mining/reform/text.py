"""Bilingual wording of reform findings, in the words an official uses."""

from __future__ import annotations

RECOMMENDATIONS = {
    "replace_by_data": ("Thay bằng khai thác dữ liệu", "Replace by data reuse"),
    "remove": ("Bãi bỏ bước", "Remove the step"),
    "merge": ("Gộp với bước liền trước", "Merge with the previous step"),
    "make_online": ("Chuyển sang trực tuyến", "Make it online"),
    "automate": ("Tự động hóa", "Automate"),
    "automate_transfer": ("Tự động hóa việc chuyển hồ sơ", "Automate the transfer"),
    "interconnect": ("Liên thông dữ liệu", "Interconnect the databases"),
    "shorten_wait": (
        "Rút ngắn thời gian chờ về mức các đơn vị khác",
        "Cut the wait to the other units' level",
    ),
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


def days(value: float | None, lang: str = "en") -> str:
    """Working days as an official reads them: "2,6 ngày LV" / "2.6 working days"."""
    return (
        "–"
        if value is None
        else num(value, 1, lang) + (" ngày LV" if lang == "vi" else " working days")
    )


UNIT_KINDS = {
    "province_code": ("tỉnh/thành", "province"),
    "commune_code": ("xã/phường", "commune"),
    "unit": ("đơn vị", "unit"),
}


def unit_name(by: str, code: str) -> dict[str, str]:
    """A unit's name as every page writes it (``sample_logs.names``: "TP. Hải Phòng",
    "Phường …", "BHXH TP. Hải Phòng"), else its kind and code."""
    from sample_logs import names

    if by == "province_code":
        vi = en = names.province_name(code)
    elif by == "commune_code":
        vi = en = names.commune_name(code)
    else:
        vi, en = names.unit_name(code, "vi"), names.unit_name(code, "en")
    if vi == code:
        kind = UNIT_KINDS.get(by, ("đơn vị", "unit"))
        return {"vi": f"{kind[0]} {code}", "en": f"{kind[1]} {code}"}
    return {"vi": vi, "en": en}


def label(key: str) -> dict[str, str]:
    vi, en = RECOMMENDATIONS[key]
    return {"vi": vi, "en": en}


def sentence(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}
