"""Who submits what, where, when and how: the dossier table the simulation walks.

Arrivals follow working days (online submissions also at night and on weekends, fewer during
Tết) with the planted pre-Tết rush; channels, applicants and data-reuse flags are drawn per
procedure. Everything comes from one seeded numpy generator, so a seed gives the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from sample_logs.generator.clock import DAY, OfficeClock
from sample_logs.generator.geography import PROVINCES
from sample_logs.generator.profiles import Planted, Profile
from sample_logs.workdays import WorkCalendar

ONLINE, COUNTER, POSTAL = 0, 1, 2
# Relative volume of online submissions by hour of day (local time).
_HOURS = np.array([0.2] * 6 + [1, 6, 6, 6, 6, 6, 3, 6, 6, 6, 6, 4, 3, 4, 4, 4, 3, 1], float)


@dataclass
class Dossiers:
    proc: np.ndarray  # int, index into the procedure list
    province: np.ndarray  # int, index into PROVINCES
    commune: np.ndarray  # int, index into the flat commune list
    channel: np.ndarray  # ONLINE / COUNTER / POSTAL
    t_submit: np.ndarray  # int64 local seconds since 1970
    applicant: np.ndarray  # str, synthetic 12-digit citizen id (fake)
    digitised: np.ndarray
    vneid: np.ndarray
    data_reused: np.ndarray

    def __len__(self) -> int:
        return len(self.proc)


def communes_flat() -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """Commune codes, the province index of each, and each province's commune indices."""
    codes: list[str] = []
    prov: list[int] = []
    members: list[np.ndarray] = []
    for i, p in enumerate(PROVINCES):
        start = len(codes)
        codes += [c for c, _ in p.communes]
        prov += [i] * len(p.communes)
        members.append(np.arange(start, len(codes)))
    return codes, np.array(prov), members


def _day_weights(days: np.ndarray, work: np.ndarray, planted: Planted) -> tuple:
    rush = (days >= np.datetime64(planted.tet_start)) & (days <= np.datetime64(planted.tet_end))
    boost = np.where(rush, planted.tet_multiplier, 1.0)
    online = np.where(work, 1.0, 0.3) * boost
    office = np.where(work, 1.0, 0.0) * boost
    return online / online.sum(), office / office.sum()


def _citizen_ids(rng: np.random.Generator, n: int, province_codes: np.ndarray) -> np.ndarray:
    """Fake 12-digit ids shaped like citizen ids: province, century/sex, year, serial."""
    year = rng.integers(1960, 2006, n)
    sex_century = np.where(year >= 2000, 2, 0) + rng.integers(0, 2, n)
    serial = rng.integers(0, 1_000_000, n)
    value = (
        province_codes.astype(np.int64) * 10**9
        + sex_century * 10**8
        + (year % 100) * 10**6
        + serial
    )
    return np.char.zfill(value.astype(str), 12)


def sample_dossiers(
    rng: np.random.Generator,
    profiles: list[Profile],
    cases: int,
    period: tuple[date, date],
    calendar: WorkCalendar,
    clock: OfficeClock,
    planted: Planted,
) -> Dossiers:
    shares = np.array([p.share for p in profiles])
    proc = np.repeat(np.arange(len(profiles)), rng.multinomial(cases, shares / shares.sum()))
    n = len(proc)
    online_p = np.array([p.online for p in profiles])[proc]
    postal_p = np.array([p.postal for p in profiles])[proc]
    u = rng.random(n)
    channel = np.where(u < online_p, ONLINE, np.where(u < online_p + postal_p, POSTAL, COUNTER))

    weights = np.array([p.weight for p in PROVINCES])
    province = rng.choice(len(PROVINCES), n, p=weights / weights.sum())
    _, _, members = communes_flat()
    sizes = np.array([len(m) for m in members])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    commune = offsets[province] + (rng.random(n) * sizes[province]).astype(int)

    days = np.arange(np.datetime64(period[0]), np.datetime64(period[1]) + 1)
    work = np.isin(days, calendar.workdays_array(period[0].year, period[1].year))
    p_online, p_office = _day_weights(days, work, planted)
    is_online = channel == ONLINE
    day = np.where(
        is_online, rng.choice(len(days), n, p=p_online), rng.choice(len(days), n, p=p_office)
    )
    midnight = days[day].astype("datetime64[s]").astype(np.int64)
    hour = rng.choice(24, n, p=_HOURS / _HOURS.sum())
    t_online = midnight + hour * 3600 + rng.integers(0, 3600, n)
    # Counter and postal dossiers arrive during office hours of a working day.
    office_day = np.searchsorted(clock.days, midnight)
    t_office = clock.to_real(office_day * DAY + rng.integers(0, DAY, n))
    t_submit = np.where(is_online, t_online, t_office)

    order = np.argsort(t_submit, kind="stable")  # dossiers in arrival order
    proc, channel, province, commune, t_submit = (
        a[order] for a in (proc, channel, province, commune, t_submit)
    )
    is_online = channel == ONLINE

    pool = max(1, int(n * 0.85))  # some citizens file several dossiers
    birth_province = np.array([int(PROVINCES[i].code) for i in province])
    ids = _citizen_ids(rng, pool, birth_province[rng.integers(0, n, pool)])
    applicant = ids[rng.integers(0, pool, n)]

    digitised = np.where(is_online, True, rng.random(n) < 0.85)
    vneid = is_online & (rng.random(n) < 0.8)
    data_reused = rng.random(n) < np.where(is_online, 0.35, 0.1)
    return Dossiers(
        proc, province, commune, channel, t_submit, applicant, digitised, vneid, data_reused
    )
