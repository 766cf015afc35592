"""Durations in working days on whole columns, through the project's one calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dvcflow.settings import Settings
from sample_logs.workdays import default_calendar


def _local(s: pd.Series, tz: str) -> np.ndarray:
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True, cache=False)
    return s.dt.tz_convert(tz).dt.tz_localize(None).to_numpy()


def working_days(a: pd.Series, b: pd.Series, settings: Settings) -> pd.Series:
    """Working days between instants ``a`` and ``b`` (tz-aware), NaN where either is missing,
    in ``settings``' time zone and calendar."""
    ok = (a.notna() & b.notna()).to_numpy()
    out = np.full(len(a), np.nan)
    if ok.any():
        tz = settings.timezone
        la = _local(a[ok], tz)
        lb = _local(b[ok], tz)
        out[ok] = default_calendar(settings).working_days_between_arrays(la, lb)
    return pd.Series(out, index=a.index)
