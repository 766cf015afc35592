"""The stream path held to the HTTP path's rules: scope, dossier owners, identity, no raw id.

Kafka does not tell a consumer who produced a message, so a producer's identity comes from
where it may write: the gateway's topic (``topic_events``; under the SASL profile of
``docker/`` only the gateway principal may produce to it, and it names the writer in the
``dvc.source`` header after checking the key) or a producer's own topic, listed in the
setting ``stream_producers`` with that principal's scope (the ACLs let the principal write
that topic and nothing else). For messages of a producer topic the sink refuses (to the DLQ,
with the reason) what the gateway would refuse over HTTP: an event outside the principal's
scope, or for a dossier another scope owns. On every topic, an event id a source already
used for other content, earlier in the batch or in the store (``ingest.store_index``), is a
conflict, sent to the DLQ with the reason as the gateway answers 409; the same content again
(a retry, a redelivered batch) is kept and dropped on read, so nothing doubles. Dead letters
never keep a raw applicant id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
import pyarrow as pa
from confluent_kafka import Message

from dvcflow.access import Principal
from dvcflow.settings import Settings
from ingest.identity import identities
from ingest.pseudonym import Pseudonymizer
from ingest.store_index import StoreIndex

SOURCE_HEADER = "dvc.source"
Reject = tuple[int, str, list[dict[str, str]]]


@dataclass(frozen=True)
class Producer:
    """A Kafka principal allowed to produce to its own topic, with its scope."""

    topic: str
    principal: Principal


def producers(settings: Settings) -> dict[str, Producer]:
    """topic -> producer, from ``settings.stream_producers``."""
    out = {}
    for name, entry in settings.stream_producers.items():
        topic = entry.get("topic") or f"{settings.topic_events}.{name}"

        def scope(field: str, entry: dict = entry) -> tuple[str, ...] | None:
            value = entry.get(field)
            return tuple(value) if isinstance(value, list) else None

        principal = Principal(
            name=name,
            role="integrator",
            provinces=scope("provinces"),
            communes=scope("communes"),
            org_units=scope("org_units"),
        )
        out[str(topic)] = Producer(str(topic), principal)
    return out


def topics(settings: Settings) -> list[str]:
    """What the sink subscribes to: the gateway's topic and every producer's own."""
    return [settings.topic_events, *producers(settings)]


def source_of(message: Message, settings: Settings) -> str | None:
    """The writer of a message: its producer topic's principal, or the gateway's header."""
    if message.topic() != settings.topic_events:
        return f"kafka:{message.topic()}"
    for key, value in message.headers() or ():
        if key == SOURCE_HEADER and value:
            return value.decode(errors="replace")
    return None


def admit(
    messages: Sequence[Message],
    table: pa.Table,
    rejects: list[Reject],
    settings: Settings,
    index: StoreIndex,
) -> tuple[pa.Table, list[Reject]]:
    """``decode_batch``'s rows (one per message not in ``rejects``, in message order) with
    their ``source`` set, less those the writer may not write or that conflict; those are
    added to ``rejects`` with the reason."""
    refused = {r[0] for r in rejects}
    index.refresh()  # once: the lookups below use what it holds now
    at = [i for i in range(len(messages)) if i not in refused]
    sources = [source_of(messages[i], settings) for i in at]
    by_topic = producers(settings)
    drop: dict[int, tuple[str, str, str]] = {}
    scoped = [j for j, i in enumerate(at) if messages[i].topic() in by_topic]
    if scoped:
        locations = ["case_id", "province_code", "commune_code", "org_unit"]
        rows = table.select(locations).take(pa.array(scoped, pa.int64())).to_pylist()
        owners = index.owners({row["case_id"] for row in rows}, refresh=False)
        for j, row in zip(scoped, rows, strict=True):
            who = by_topic[messages[at[j]].topic()].principal
            owner = owners.get(row["case_id"])
            if not who.may_write(row["province_code"], row["commune_code"], row["org_unit"]):
                drop[j] = ("province_code/commune_code/org_unit", "outside the scope of", who.name)
            elif owner is not None and not who.may_write_to(owner):
                drop[j] = ("case_id", "the dossier belongs to another scope than", who.name)
    table = table.set_column(
        table.schema.get_field_index("source"), "source", pa.array(sources, pa.string())
    )
    keys, digests = identities(table)
    stored = index.stored_digests(keys, refresh=False)
    seen: dict[int, int] = {}
    for j, (key, digest) in enumerate(zip(keys, digests, strict=True)):
        known = stored.get(key)
        if known and digest not in known:
            why = "conflict: the same event_id with other content is already stored from"
            drop.setdefault(j, ("event_id", why, sources[j] or "this topic"))
        elif seen.setdefault(key, digest) != digest:
            why = "conflict: the same event_id with other content in the batch from"
            drop.setdefault(j, ("event_id", why, sources[j] or "this topic"))
    if not drop:
        return table, rejects
    keep = pa.array([j not in drop for j in range(len(at))])
    added = [
        (at[j], f"{field}: {reason} {who}", [{"field": field, "reason": f"{reason} {who}"}])
        for j, (field, reason, who) in sorted(drop.items())
    ]
    return table.filter(keep), sorted([*rejects, *added], key=lambda r: r[0])


def scrub(value: bytes | None, pseudonymizer: Pseudonymizer) -> bytes:
    """A dead letter's value without a raw applicant id: the id (also inside a CloudEvent's
    ``data``) becomes its keyed pseudonym; a value that is not a JSON object, where an id
    could hide anywhere, becomes a keyed hash of itself."""
    if not value:
        return b""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        return orjson.dumps({"unreadable_value_hmac_sha256": pseudonymizer.digest(value)})
    for holder in (doc, doc.get("data")):
        if isinstance(holder, dict) and holder.get("applicant_id") is not None:
            holder["applicant_id"] = pseudonymizer.ref(str(holder["applicant_id"]))
    return orjson.dumps(doc)
