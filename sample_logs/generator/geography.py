"""Where synthetic dossiers come from: five provinces of the two-level government (post
1 July 2025 codes) with several communes each, and how many officers each unit has.

Commune codes are illustrative 5-digit codes, not the official list; names are real places.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    weight: float  # share of dossiers
    communes: tuple[tuple[str, str], ...]  # (code, name)


PROVINCES: tuple[Province, ...] = (
    Province(
        "01",
        "Thành phố Hà Nội",
        0.30,
        (
            ("00004", "Phường Ba Đình"),
            ("00070", "Phường Hoàn Kiếm"),
            ("00082", "Phường Cửa Nam"),
            ("00226", "Phường Đống Đa"),
            ("00118", "Phường Long Biên"),
            ("00376", "Xã Sóc Sơn"),
        ),
    ),
    Province(
        "79",
        "Thành phố Hồ Chí Minh",
        0.35,
        (
            ("26734", "Phường Sài Gòn"),
            ("26740", "Phường Bến Thành"),
            ("26743", "Phường Tân Định"),
            ("26800", "Phường Thủ Đức"),
            ("26944", "Phường Bình Thạnh"),
            ("27595", "Xã Củ Chi"),
        ),
    ),
    Province(
        "48",
        "Thành phố Đà Nẵng",
        0.10,
        (
            ("20194", "Phường Hải Châu"),
            ("20227", "Phường Thanh Khê"),
            ("20335", "Phường Hội An"),
            ("20308", "Xã Hòa Vang"),
        ),
    ),
    Province(
        "31",
        "Thành phố Hải Phòng",
        0.13,
        (
            ("11311", "Phường Hồng Bàng"),
            ("11359", "Phường Lê Chân"),
            ("11560", "Phường Thủy Nguyên"),
            ("10507", "Phường Hải Dương"),
        ),
    ),
    Province(
        "92",
        "Thành phố Cần Thơ",
        0.12,
        (
            ("31117", "Phường Ninh Kiều"),
            ("31186", "Phường Cái Răng"),
            ("31321", "Phường Vị Thanh"),
            ("31507", "Phường Sóc Trăng"),
        ),
    ),
)

# Officers per unit: commune centres are small, province departments larger.
COMMUNE_OFFICERS = 4
COMMUNE_POLICE_OFFICERS = 3
PROVINCE_OFFICERS = 12


def province_names() -> dict[str, str]:
    return {p.code: p.name for p in PROVINCES}


def commune_names() -> dict[str, str]:
    return {c: n for p in PROVINCES for c, n in p.communes}
