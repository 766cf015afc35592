"""Figures read from the derived layer instead of the raw events, when it is fresh.

Each returns None when the layer is missing or behind the store (a batch landed since the
last derive), so the caller falls back to the raw events and a figure is never staler
than the store; tests hold both paths equal.
"""

from __future__ import annotations

from typing import Any

from ingest.store import EventStore
from mining.derived.layer import DerivedLayer
from mining.derived.update import is_fresh
from mining.log import connect


def procedure_summary(
    store: EventStore, owner_where: tuple[str, dict[str, str]] | None = None
) -> list[dict[str, Any]] | None:
    """``EventStore.summary``'s rows (per procedure: events, dossiers, first and last event)
    over the dossiers whose owner matches ``owner_where`` (SQL over ``province_code``,
    ``commune_code``, ``org_unit`` with its parameters; None: all). One row per dossier
    is read instead of every event."""
    layer = DerivedLayer(store.data_dir)
    con = connect()
    try:
        try:
            manifest = layer.connect(con)
        except FileNotFoundError:
            return None
        if not is_fresh(store, manifest):
            return None
        where, params = owner_where or ("true", {})
        return (
            con.execute(
                "SELECT procedure_code, sum(events)::BIGINT AS events, count(*) AS cases, "
                "min(first_ts) AS first, max(last_ts) AS last "
                f"FROM derived_cases WHERE {where} GROUP BY procedure_code ORDER BY procedure_code",
                params,
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()
