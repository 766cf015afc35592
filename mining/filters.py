"""The filters every analysing verb, API endpoint and dashboard page shares.

Filters select whole dossiers, never cut them: a dossier is kept when it belongs to the
procedure, province, commune or org unit, was received (first event) inside the date range,
and was submitted (first event) through the channel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from dvcflow.errors import FilterError

CHANNELS = ("online", "counter", "postal", "internal", "system")


@dataclass(frozen=True)
class LogFilter:
    procedure: str | None = None
    province: str | None = None
    commune: str | None = None
    org_unit: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise FilterError(
                "the start is after the end: the date range is empty.",
                "date_from",
                self.date_from,
                also=("date_to", self.date_to),
            )
        if self.channel is not None and self.channel not in CHANNELS:
            raise FilterError(f"not one of {', '.join(CHANNELS)}.", "channel", self.channel)

    def key(self) -> tuple:
        """Hashable identity, for caches."""
        return tuple(sorted(asdict(self).items()))

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in asdict(self).items() if v is not None]
        return ", ".join(parts) or "all dossiers"
