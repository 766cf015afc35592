"""API keys and read tokens: who may write events for, or read, which provinces and units.

Tokens are never stored: the keys file (``settings.api_keys_file``, default
``<data_dir>/api_keys.json``) and the JSON in env ``DVCFLOW_API_KEYS`` hold their SHA-256
with a role and a scope. Each scope list that is set narrows the key; ``null`` means no
limit on that level. Entries of ``org_units`` may end in ``*`` to cover a prefix (``P79.*``).

Create a key with ``dvcflow keys add NAME --role integrator --province 79`` (prints the token
once, appends its hash to the keys file).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import orjson

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, get_settings

Role = Literal["integrator", "official", "reform_team", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
WRITE_ROLES = frozenset({"integrator", "admin"})
READ_ROLES = frozenset({"official", "reform_team", "admin"})
ENV_KEYS = "DVCFLOW_API_KEYS"
TOKEN_PREFIX = "dvc_"


class AccessConfigError(DvcflowError):
    """The keys file or ``DVCFLOW_API_KEYS`` is malformed."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _in_scope(value: str | None, allowed: tuple[str, ...] | None) -> bool:
    if allowed is None:
        return True
    if value is None:
        return False
    for entry in allowed:
        if entry.endswith("*") and value.startswith(entry[:-1]):
            return True
        if value == entry:
            return True
    return False


@lru_cache(maxsize=1)
def _commune_provinces() -> dict[str, str]:
    """Commune code -> province code of the 34 provinces / 3,321 communes (2025 geography)."""
    try:
        from vietnam_provinces import Ward
    except ImportError:  # pragma: no cover - installed with dvcflow
        return {}
    return {f"{int(w.code):05d}": f"{int(w.province_code):02d}" for w in Ward.iter_all()}


def province_of_commune(commune: str | None) -> str | None:
    """The province a commune code belongs to, or None when the code is not in the geography."""
    return _commune_provinces().get(commune) if commune else None


@dataclass(frozen=True)
class Owner:
    """Where a dossier belongs: the province, commune and receiving unit of its first
    registration (``ingest.owner`` finds it in the store). Every read and write of the
    dossier is judged by it, never by the location of whichever event is asked about."""

    province_code: str | None
    commune_code: str | None
    org_unit: str | None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a named key with a role and a scope (``None`` = unlimited)."""

    name: str
    role: Role
    provinces: tuple[str, ...] | None = None
    communes: tuple[str, ...] | None = None
    org_units: tuple[str, ...] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.provinces is None and self.communes is None and self.org_units is None

    @property
    def source(self) -> str:
        """The writer's identity in the store: event ids are unique per source only."""
        return f"key:{self.name}"

    def covers(self, province: str | None, commune: str | None, org_unit: str | None) -> bool:
        """Does this key's scope cover every location field given (``None`` = absent)?

        A field is covered by the level of the scope that names it, or by a coarser level
        that contains it: a province key covers its communes (per the national geography
        when the code is known) and every org unit in them. A field no named level can
        vouch for is not covered: a key that names only org units (``P79.*``) covers no
        province or commune, so it cannot write ``province_code: "01"``.
        """
        if self.unrestricted:
            return True
        if self.provinces is not None:
            if not _in_scope(province, self.provinces):
                return False
        elif self.communes is not None:
            if province is not None and province != province_of_commune(commune):
                return False
        elif province is not None:
            return False
        if self.communes is not None:
            if not _in_scope(commune, self.communes):
                return False
        elif commune is not None:
            if self.provinces is None:
                return False
            known = province_of_commune(commune)
            if known is not None and not _in_scope(known, self.provinces):
                return False
        return _in_scope(org_unit, self.org_units)

    def may_write(self, province: str | None, commune: str | None, org_unit: str | None) -> bool:
        """May this key send an event of this province, commune and org unit?"""
        if self.role not in WRITE_ROLES:
            return False
        if self.role == "admin":
            return True
        return self.covers(province, commune, org_unit)

    def may_write_to(self, owner: Owner) -> bool:
        """May this key add events to a dossier that belongs to ``owner``?"""
        return self.may_write(owner.province_code, owner.commune_code, owner.org_unit)

    def may_read(
        self, province: str | None, commune: str | None, org_unit: str | None = None
    ) -> bool:
        """May this token read analyses of this province / commune / org unit (``None`` = all
        of them)?"""
        if self.role not in READ_ROLES:
            return False
        if self.role == "admin":
            return True
        return (
            _in_scope(province, self.provinces)
            and _in_scope(commune, self.communes)
            and _in_scope(org_unit, self.org_units)
        )

    def may_read_owner(self, owner: Owner) -> bool:
        """May this token read a dossier that belongs to ``owner``?"""
        return self.may_read(owner.province_code, owner.commune_code, owner.org_unit)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KeyRecord:
    """One line of the keys file."""

    principal: Principal
    token_sha256: str


def _scope(entry: dict[str, Any], field: str, where: str) -> tuple[str, ...] | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AccessConfigError(f"{where}: '{field}' must be null or a list of non-empty strings.")
    return tuple(value)


def parse_keys(data: Any, where: str) -> list[KeyRecord]:
    """Validate the decoded keys document (a list of entries); errors name ``where``."""
    if isinstance(data, dict) and "keys" in data:
        data = data["keys"]
    if not isinstance(data, list):
        raise AccessConfigError(f"{where}: expected a JSON list of keys.")
    records = []
    for i, entry in enumerate(data):
        at = f"{where}, key #{i + 1}"
        if not isinstance(entry, dict):
            raise AccessConfigError(f"{at}: must be a JSON object.")
        name, digest, role = entry.get("name"), entry.get("token_sha256"), entry.get("role")
        if not isinstance(name, str) or not name:
            raise AccessConfigError(f"{at}: 'name' is missing.")
        if not isinstance(digest, str) or len(digest) != 64:
            raise AccessConfigError(f"{at}: 'token_sha256' must be 64 hex digits.")
        if role not in ROLES:
            raise AccessConfigError(f"{at}: 'role' must be one of {', '.join(ROLES)}.")
        principal = Principal(
            name=name,
            role=role,
            provinces=_scope(entry, "provinces", at),
            communes=_scope(entry, "communes", at),
            org_units=_scope(entry, "org_units", at),
        )
        records.append(KeyRecord(principal, digest.lower()))
    return records


_cache: dict[tuple[str, int, int], list[KeyRecord]] = {}


def keys_path(settings: Settings) -> Path:
    """``settings.api_keys_file``, else ``<data_dir>/api_keys.json``."""
    return Path(settings.api_keys_file or settings.data_dir / "api_keys.json")


def load_keys(settings: Settings | None = None) -> list[KeyRecord]:
    """Env ``DVCFLOW_API_KEYS`` plus the keys file (re-read whenever it changes)."""
    settings = settings or get_settings()
    records: list[KeyRecord] = []
    env = os.environ.get(ENV_KEYS)
    if env:
        try:
            records += parse_keys(orjson.loads(env), ENV_KEYS)
        except orjson.JSONDecodeError as exc:
            raise AccessConfigError(f"{ENV_KEYS} is not valid JSON: {exc}.") from None
    path = keys_path(settings)
    if path.exists():
        st = Path(path).stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in _cache:
            try:
                data = orjson.loads(Path(path).read_bytes())
            except orjson.JSONDecodeError as exc:
                raise AccessConfigError(f"{path} is not valid JSON: {exc}.") from None
            _cache.clear()
            _cache[key] = parse_keys(data, str(path))
        records += _cache[key]
    return records


def access_configured(settings: Settings | None = None) -> bool:
    """Is any key configured? Without keys the gateway refuses everything (401)."""
    return bool(load_keys(settings))


def authenticate(token: str | None, settings: Settings | None = None) -> Principal | None:
    """The principal whose key this token is, or ``None``; compared in constant time."""
    if not token:
        return None
    digest = hash_token(token.strip())
    found = None
    for record in load_keys(settings):
        if hmac.compare_digest(record.token_sha256, digest):
            found = record.principal
    return found


class TooManyFailures(DvcflowError):
    """This client sent too many unknown tokens lately (HTTP 429)."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            f"too many unknown tokens from this address: try again in {retry_after} s "
            "(settings auth_max_failures / auth_failure_window_seconds)."
        )


class FailedTokens:
    """Unknown tokens per client address over a sliding window: at ``auth_max_failures``
    the address is refused (429) before its token is even looked at, until the window has
    passed, so guessing keys costs time instead of only requests."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str | None, settings: Settings) -> None:
        """Raise ``TooManyFailures`` while ``client`` is over the limit."""
        if client is None:
            return
        window = settings.auth_failure_window_seconds
        with self._lock:
            times = self._times.get(client)
            if not times:
                return
            now = time.monotonic()
            while times and now - times[0] > window:
                times.popleft()
            if len(times) >= settings.auth_max_failures:
                raise TooManyFailures(max(1, int(window - (now - times[0])) + 1))

    def clear(self) -> None:
        with self._lock:
            self._times.clear()

    def record(self, client: str | None) -> None:
        if client is None:
            return
        with self._lock:
            if len(self._times) > 100_000:  # a flood of addresses: start over, stay bounded
                self._times.clear()
            self._times.setdefault(client, deque(maxlen=1000)).append(time.monotonic())


failed_tokens = FailedTokens()


def authenticate_client(
    token: str | None, client: str | None, settings: Settings | None = None
) -> Principal | None:
    """``authenticate`` for a request from ``client`` (its address): ``TooManyFailures``
    while that address is over the failed-token limit; an unknown token counts against it."""
    settings = settings or get_settings()
    failed_tokens.check(client, settings)
    principal = authenticate(token, settings)
    if token and principal is None:
        failed_tokens.record(client)
    return principal


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def add_key(
    path: Path,
    name: str,
    role: Role,
    provinces: list[str] | None = None,
    communes: list[str] | None = None,
    org_units: list[str] | None = None,
) -> str:
    """Append a new key to the keys file and return its token (shown once, never stored)."""
    if role not in ROLES:
        raise AccessConfigError(f"role '{role}' is not one of {', '.join(ROLES)}.")
    entries: list[dict[str, Any]] = []
    if path.exists():
        try:
            entries = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise AccessConfigError(f"{path} is not valid JSON: {exc}.") from None
        parse_keys(entries, str(path))
        if any(e.get("name") == name for e in entries):
            raise AccessConfigError(f"{path} already has a key named '{name}'.")
    token = new_token()
    entries.append(
        {
            "name": name,
            "token_sha256": hash_token(token),
            "role": role,
            "provinces": provinces or None,
            "communes": communes or None,
            "org_units": org_units or None,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(orjson.dumps(entries, option=orjson.OPT_INDENT_2))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return token
