"""API keys: hashes only on disk, scopes narrow what a key may write or read."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from dvcflow.access import (
    AccessConfigError,
    Principal,
    add_key,
    authenticate,
    hash_token,
    load_keys,
)
from dvcflow.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, api_keys_file=tmp_path / "keys.json")


def test_add_key_stores_only_the_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DVCFLOW_API_KEYS", raising=False)
    settings = _settings(tmp_path)
    token = add_key(settings.api_keys_file, "hcm", "integrator", provinces=["79"])
    text = settings.api_keys_file.read_text()
    assert token not in text
    assert hash_token(token) in text
    principal = authenticate(token, settings)
    assert principal == Principal("hcm", "integrator", provinces=("79",))
    assert authenticate(token + "x", settings) is None
    assert authenticate("", settings) is None
    with pytest.raises(AccessConfigError, match="already has a key named 'hcm'"):
        add_key(settings.api_keys_file, "hcm", "official")


def test_env_keys_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"name": "env", "token_sha256": hash_token("secret-1"), "role": "official"}
    monkeypatch.setenv("DVCFLOW_API_KEYS", orjson.dumps([entry]).decode())
    principal = authenticate("secret-1", _settings(tmp_path))
    assert principal is not None and principal.role == "official"


@pytest.mark.parametrize(
    "doc, message",
    [
        ("{", "not valid JSON"),
        ('[{"name": "a", "token_sha256": "ab", "role": "integrator"}]', "token_sha256"),
        ('[{"name": "a", "token_sha256": "' + "0" * 64 + '", "role": "boss"}]', "'role'"),
        (
            '[{"name": "a", "token_sha256": "'
            + "0" * 64
            + '", "role": "admin", "provinces": "79"}]',
            "'provinces'",
        ),
    ],
)
def test_malformed_keys_file_names_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: str, message: str
) -> None:
    monkeypatch.delenv("DVCFLOW_API_KEYS", raising=False)
    settings = _settings(tmp_path)
    settings.api_keys_file.write_text(doc)
    with pytest.raises(AccessConfigError, match=message) as info:
        load_keys(settings)
    assert "keys.json" in str(info.value)


def test_write_scope() -> None:
    p = Principal("p", "integrator", provinces=("79",), org_units=("C26734", "P79.*"))
    assert p.may_write("79", "26734", "C26734")
    assert p.may_write("79", None, "P79.STNMT")
    assert not p.may_write("01", None, "P79.STNMT")
    assert not p.may_write(None, None, "P79.STNMT")  # unknown province is outside a scoped key
    assert not p.may_write("79", None, "P01.STNMT")
    assert not p.may_read("79", None)  # integrators only write
    assert Principal("all", "integrator").may_write(None, None, "X")
    assert not Principal("o", "official").may_write("79", None, "X")


def test_read_scope() -> None:
    official = Principal("o", "official", provinces=("79",), communes=("26734",))
    assert official.may_read("79", "26734")
    assert not official.may_read("79", None)  # the whole province is wider than its commune
    assert not official.may_read(None, None)
    assert Principal("r", "reform_team").may_read(None, None)
    assert Principal("a", "admin", provinces=("01",)).may_read("79", None)
