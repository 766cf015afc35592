"""Pseudonymisation of personal identifiers: keyed HMAC-SHA256, never the raw value."""

from __future__ import annotations

import hashlib
import hmac


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
        normalised = applicant_id.strip().upper().encode()
        return "ar_" + hmac.digest(self._key, normalised, hashlib.sha256).hex()[:32]
