"""Pseudonymisation of personal identifiers: keyed HMAC-SHA256, never the raw value."""

from __future__ import annotations

import hashlib
import hmac
import re

# A reference this module made: the gateway pseudonymises before producing to Kafka, and
# the sink must then keep it as it is instead of hashing the hash.
REF = re.compile(r"^ar_[0-9a-f]{32}$")


class Pseudonymizer:
    """Turns a citizen or business id into a stable reference that cannot be reversed
    without the key. The same id gives the same ref under the same key, so a person's
    dossiers can still be linked."""

    def __init__(self, key: bytes):
        if not key:
            raise ValueError("the pseudonymisation key is empty")
        self._key = key

    def ref(self, applicant_id: str | None) -> str | None:
        if applicant_id is None or applicant_id == "":
            return None
        if REF.match(applicant_id):
            return applicant_id
        normalised = applicant_id.strip().upper().encode()
        return "ar_" + hmac.digest(self._key, normalised, hashlib.sha256).hex()[:32]

    def digest(self, data: bytes) -> str:
        """A keyed hash of any bytes (a dead letter too broken to find the id in)."""
        return hmac.digest(self._key, data, hashlib.sha256).hex()
