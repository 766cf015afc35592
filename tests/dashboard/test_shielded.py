"""A figure whose filters select nothing says so calmly; a wrong filter is an error box."""

from __future__ import annotations

from dashboard.components import shielded
from dvcflow.errors import FilterError, NoMatch


def _raise(exc: Exception):
    def fn(lang: str):
        raise exc

    return fn


def test_an_empty_pick_is_calm_and_a_wrong_filter_an_error():
    calm = shielded(_raise(NoMatch("no dossier matches the filter (province=48).")), "vi")
    assert calm.id == "empty-pick" and "notice-calm" in calm.className
    wrong = shielded(_raise(FilterError("no such procedure.", "procedure", "9.9")), "en")
    assert "notice-err" in wrong.className
    assert wrong.children[-1].children == "procedure 9.9: no such procedure."
