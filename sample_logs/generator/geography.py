"""Where synthetic dossiers come from: five provinces of the two-level government and 12 real
communes of each (codes and names from ``vietnam-provinces``, valid from 1 July 2025), and how
many officers each unit has.

The provinces are 01 Hà Nội, 79 TP. Hồ Chí Minh, 48 Đà Nẵng, 31 Hải Phòng and 92 Cần Thơ (the
planted facts name them). Five, not 34: a planted fact such as "the handoff is slow in Hải
Phòng only" must hold in every province's own ranking, which a province with a handful of
dossiers cannot show. The communes are picked evenly spaced in code order (codes roughly
follow geography), so the same package version gives the same communes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sample_logs.names import communes_of, provinces

WEIGHTS = {"01": 0.30, "79": 0.35, "48": 0.10, "31": 0.13, "92": 0.12}  # share of dossiers
COMMUNES = 12


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    weight: float  # share of dossiers
    communes: tuple[tuple[str, str], ...]  # (code, name)


def _spread(items: list[tuple[str, str]], k: int) -> tuple[tuple[str, str], ...]:
    """``k`` items evenly spaced over ``items`` (all of them when there are fewer)."""
    if len(items) <= k:
        return tuple(items)
    return tuple(items[(i * len(items)) // k] for i in range(k))


@cache
def _provinces() -> tuple[Province, ...]:
    names = provinces()
    return tuple(
        Province(code, names[code], weight, _spread(communes_of(code), COMMUNES))
        for code, weight in WEIGHTS.items()
    )


PROVINCES: tuple[Province, ...] = _provinces()

# Officers per unit: commune centres are small, province departments larger.
COMMUNE_OFFICERS = 4
COMMUNE_POLICE_OFFICERS = 3
PROVINCE_OFFICERS = 12


def province_names() -> dict[str, str]:
    return {p.code: p.name for p in PROVINCES}


def commune_names() -> dict[str, str]:
    return {c: n for p in PROVINCES for c, n in p.communes}
