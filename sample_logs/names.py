"""Names of provinces, communes, org units and procedure steps, as officials read them.

Codes are what logs carry; officials read names. Provinces and communes come from the
``vietnam-provinces`` package (GSO codes of the two-level government from 1 July 2025: 34
provinces, 3,321 communes), org units from a built-in table of unit kinds that a deployment
can extend or override with its own file (setting ``units_file``), steps from the procedure
catalog. It sits in ``sample_logs`` (beside the catalog) so that the generator, ingest,
mining and the dashboard can all use it without importing upward.

Every lookup falls back to the code itself: an unknown code is shown, never dropped.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from dvcflow.errors import InputFileError

PATH_SEPARATOR = " › "

# Org-unit kinds, by the suffix after ``P<province>`` / ``C<commune>`` (see
# ``Procedure.unit_code``): (vi, en). No suffix = the unit's one-stop public service centre.
UNIT_KINDS: dict[str, tuple[str, str]] = {
    "": ("TT Phục vụ HCC", "Public service centre"),
    "CA": ("Công an", "Police"),
    "BHXH": ("BHXH", "Social insurance"),
    "THUE": ("Thuế", "Tax office"),
    "STC": ("Sở Tài chính", "Department of Finance"),
    "STNMT": ("Sở Nông nghiệp và Môi trường", "Department of Agriculture and Environment"),
    "VPDKDD": ("VP Đăng ký đất đai", "Land registration office"),
    "STP": ("Sở Tư pháp", "Department of Justice"),
    "SXD": ("Sở Xây dựng", "Department of Construction"),
    "SYT": ("Sở Y tế", "Department of Health"),
    "SGDDT": ("Sở Giáo dục và Đào tạo", "Department of Education"),
}
SYSTEM = ("Hệ thống", "System")


def fold(text: str) -> str:
    """Lower-case text without Vietnamese diacritics ("Hải Phòng" → "hai phong"), for search."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFD", text)
    return "".join(c for c in plain if unicodedata.category(c) != "Mn").lower()


def _clean(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


@functools.cache
def _provinces() -> dict[str, str]:
    from vietnam_provinces import Province

    return {f"{int(p.code):02d}": _clean(p.name) for p in Province.iter_all()}


@functools.cache
def _communes() -> dict[str, tuple[str, str]]:
    """Commune code → (name, province code)."""
    from vietnam_provinces import Ward

    return {
        f"{int(w.code):05d}": (_clean(w.name), f"{int(w.province_code):02d}")
        for w in Ward.iter_all()
    }


def provinces() -> dict[str, str]:
    """Every province code → its full name, in code order."""
    return dict(sorted(_provinces().items()))


def communes_of(province: str) -> list[tuple[str, str]]:
    """The communes of ``province`` as (code, name), in code order."""
    return sorted((c, n) for c, (n, p) in _communes().items() if p == province)


def province_name(code: str | None, short: bool = True) -> str:
    """ "TP. Hải Phòng" (short) or "Thành phố Hải Phòng"; the code when unknown."""
    if code is None:
        return ""
    name = _provinces().get(str(code))
    if name is None:
        return str(code)
    return name.replace("Thành phố ", "TP. ") if short else name


def commune_name(code: str | None) -> str:
    """ "Phường Hồng Bàng"; the code when unknown."""
    if code is None:
        return ""
    found = _communes().get(str(code))
    return found[0] if found else str(code)


def commune_province(code: str | None) -> str | None:
    found = _communes().get(str(code)) if code else None
    return found[1] if found else None


def commune_path(code: str | None) -> str:
    """ "TP. Hải Phòng › Phường Hồng Bàng"; the code when unknown."""
    province = commune_province(code)
    if province is None:
        return "" if code is None else str(code)
    return province_name(province) + PATH_SEPARATOR + commune_name(code)


def _lang(pair: tuple[str, str], lang: str | None) -> str:
    return pair[1] if lang == "en" else pair[0]


@functools.cache
def load_units(path: Path | None) -> dict[str, dict[str, str]]:
    """A deployment's units table: JSON ``{"P79.STNMT": {"vi": "...", "en": "..."}}`` (or a
    plain name for both languages). Codes it names win over the built-in naming."""
    if path is None:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"units_file {path}: cannot read it as JSON ({exc}).") from exc
    if not isinstance(raw, dict):
        raise InputFileError(f"units_file {path}: expected an object of code → name.")
    table: dict[str, dict[str, str]] = {}
    for code, name in raw.items():
        if isinstance(name, str):
            table[str(code)] = {"vi": name, "en": name}
        elif isinstance(name, dict) and isinstance(name.get("vi") or name.get("en"), str):
            vi = name.get("vi") or name["en"]
            table[str(code)] = {"vi": vi, "en": name.get("en") or vi}
        else:
            raise InputFileError(
                f"units_file {path}: the name of {code!r} must be text or {{vi, en}}."
            )
    return table


def unit_name(code: str | None, lang: str | None = "vi", units_file: Path | None = None) -> str:
    """An org unit by name: ``C11311.CA`` → "Công an Phường Hồng Bàng", ``P31.BHXH`` →
    "BHXH TP. Hải Phòng", ``HT.POPULATION_DB`` → "Hệ thống POPULATION_DB"; the code when
    its place or kind is unknown."""
    if code is None:
        return ""
    code = str(code)
    named = load_units(units_file).get(code)
    if named:
        return named.get(lang or "vi") or named["vi"]
    if code.startswith("HT."):
        return f"{_lang(SYSTEM, lang)} {code[3:]}"
    match = re.fullmatch(r"([PC])(\d+)(?:\.([A-Z0-9]+))?", code)
    if not match:
        return code
    level, place, kind = match.group(1), match.group(2), match.group(3) or ""
    where = province_name(place) if level == "P" else commune_name(place)
    if where == place or kind not in UNIT_KINDS:
        return code
    joiner = ", " if lang == "en" else " "
    return f"{_lang(UNIT_KINDS[kind], lang)}{joiner}{where}"


def step_name(
    procedure: str | None,
    activity: str | None,
    lang: str | None = "vi",
    catalog: dict[str, Any] | None = None,
    catalog_folder: Path | None = None,
) -> str:
    """A step's catalog label in ``lang``; the activity itself for a log without catalog (or a
    step the catalog does not list). Without ``procedure``, the first procedure naming it.
    The catalog is ``catalog``, else the one in ``catalog_folder``, else the settings'."""
    if activity is None:
        return ""
    if catalog is None:
        from sample_logs.catalog import _cached, catalog_dir

        try:
            catalog = _cached(str(catalog_folder or catalog_dir()))
        except Exception:  # a broken catalog must not hide the log's own names
            return str(activity)
    procs = [catalog[procedure]] if procedure in catalog else list(catalog.values())
    for proc in procs:
        step = proc.step(activity)
        if step is not None:
            return str(getattr(step.label, "en" if lang == "en" else "vi") or activity)
    return str(activity)
