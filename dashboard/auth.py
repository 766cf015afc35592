"""Who may read what: read tokens (``dvcflow.access``) turned into scoped filters.

An official scoped to provinces or communes sees only those (403 otherwise); a reform team or
an admin sees all; an integrator only writes events. With no key configured (keys file
or DVCFLOW_API_KEYS) the web process runs in open local mode (everyone reads everything),
as the demo does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings
from mining.filters import LogFilter

READ_ROLES = ("official", "reform_team", "admin")
COOKIE = "dvcflow_session"  # the dashboard's session id (``dashboard.login``), never a token


class Unauthorized(DvcflowError):
    """No token, or a token nobody issued."""


class Forbidden(DvcflowError):
    """A valid token asking for data outside its scope."""


def access_configured(settings: Settings) -> bool:
    """Any key in the keys file or ``DVCFLOW_API_KEYS``? (re-read when the file changes)"""
    from dvcflow import access

    return access.access_configured(settings)


def authenticate(settings: Settings, token: str | None, client: str | None = None) -> Any | None:
    """The principal of ``token``; None in open local mode; Unauthorized when it is bad
    (``TooManyFailures`` once ``client`` sent too many bad ones)."""
    if not access_configured(settings):
        return None
    if not token:
        raise Unauthorized(
            "a read token is required: send 'Authorization: Bearer <token>' "
            "(create one with `dvcflow keys add NAME --role official`)."
        )
    from dvcflow import access

    principal = access.authenticate_client(token, client, settings)
    if principal is None:
        raise Unauthorized("the token is not known: check the Authorization header.")
    if str(getattr(principal, "role", "")) not in READ_ROLES:
        raise Forbidden(f"the role {principal.role!r} may send events but not read figures.")
    return principal


def _scope(principal: Any, name: str) -> list[str] | None:
    values = getattr(principal, name, None)
    return list(values) if values else None


def scoped(flt: LogFilter, principal: Any | None) -> LogFilter:
    """``flt`` narrowed to the principal's scope; Forbidden when it asks for more."""
    if principal is None:
        return flt
    provinces, communes = _scope(principal, "provinces"), _scope(principal, "communes")
    if provinces and flt.province is None:
        if len(provinces) != 1:
            raise Forbidden(
                f"this token reads provinces {', '.join(provinces)} only: set the province filter."
            )
        flt = replace(flt, province=provinces[0])
    if communes and flt.commune is None:
        if len(communes) != 1:
            raise Forbidden(
                f"this token reads communes {', '.join(communes)} only: set the commune filter."
            )
        flt = replace(flt, commune=communes[0])
    units = _scope(principal, "org_units")
    if units and flt.org_unit is None:
        if len(units) != 1 or units[0].endswith("*"):
            raise Forbidden(
                f"this token reads org units {', '.join(units)} only: set the org unit filter."
            )
        flt = replace(flt, org_unit=units[0])
    if not principal.may_read(flt.province, flt.commune, flt.org_unit):
        where = (
            flt.org_unit
            and f"org unit {flt.org_unit}"
            or flt.commune
            and f"commune {flt.commune}"
            or f"province {flt.province}"
        )
        raise Forbidden(f"this token may not read {where}.")
    return flt


def reads_everything(principal: Any) -> bool:
    return principal.role == "admin" or principal.unrestricted


def procedure_scope(principal: Any | None) -> LogFilter | None:
    """The location the procedure list of ``principal`` counts over (None: the whole store).
    A token of several provinces has no single one: its list counts its first province."""
    if principal is None or reads_everything(principal):
        return None
    try:
        return scoped(LogFilter(), principal)
    except Forbidden:
        first = (principal.provinces or (None,))[0]
        return LogFilter(province=first) if first else None


def check_dossier(principal: Any | None, case_id: str, owner: Any) -> None:
    """Forbidden unless the token may read the dossier's owner (``ingest.owner``): the same
    judgement the filters make when they keep a dossier by its owner."""
    if principal is not None and not principal.may_read_owner(owner):
        raise Forbidden(f"this token may not read dossier {case_id!r}.")


def may_read_unit(principal: Any | None, province: str | None, commune: str | None) -> bool:
    return principal is None or bool(principal.may_read(province, commune))
