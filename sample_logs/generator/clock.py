"""Office-hours clock: officers work 07:30-11:30 and 13:00-17:00 on working days only.

Officer steps are timed on a "working clock" (seconds of office time since the first working
day of the calendar table) so that waits and service times never land at night, on a weekend
or in Tết; citizens act in real time (online at any hour). Both directions are vectorised.
"""

from __future__ import annotations

import numpy as np

from sample_logs.workdays import WorkCalendar

MORNING = 7 * 3600 + 1800  # 07:30
LUNCH = 11 * 3600 + 1800  # 11:30
AFTERNOON = 13 * 3600  # 13:00
CLOSE = 17 * 3600  # 17:00
HALF = LUNCH - MORNING  # 4 h
DAY = HALF + (CLOSE - AFTERNOON)  # 8 h of office time per working day


class OfficeClock:
    """Maps local naive times (int64 seconds since 1970) to and from office seconds."""

    def __init__(self, calendar: WorkCalendar, first_year: int, last_year: int) -> None:
        days = calendar.workdays_array(first_year, last_year + 1)
        self.days = days.astype("datetime64[s]").astype(np.int64)  # midnight, seconds

    def to_office(self, t: np.ndarray) -> np.ndarray:
        """Real local seconds -> office seconds; outside office hours: the next office moment."""
        t = np.asarray(t, dtype=np.int64)
        midnight = t - t % 86_400
        idx = np.searchsorted(self.days, midnight, side="left")
        same_day = self.days[np.minimum(idx, len(self.days) - 1)] == midnight
        s = t - midnight
        into = np.select(
            [s < MORNING, s < LUNCH, s < AFTERNOON, s < CLOSE],
            [0, s - MORNING, HALF, HALF + s - AFTERNOON],
            default=DAY,
        )
        return idx.astype(np.int64) * DAY + np.where(same_day, into, 0)

    def to_real(self, w: np.ndarray) -> np.ndarray:
        """Office seconds -> real local seconds (the end of a morning maps to 13:00)."""
        w = np.asarray(w, dtype=np.int64)
        idx, into = np.divmod(w, DAY)
        offset = np.where(into < HALF, MORNING + into, AFTERNOON + into - HALF)
        return self.days[idx] + offset
