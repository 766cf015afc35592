"""Every setting is described, and ``dvcflow settings`` lists them all without a secret."""

from __future__ import annotations

import re

import orjson
import pytest
from typer.testing import CliRunner

from dvcflow.cli import app
from dvcflow.commands.settings_cmd import is_secret
from dvcflow.settings import Settings, get_settings

SECRETS = {
    "DVCFLOW_PSEUDONYM_KEY": "pseudonym-key-not-to-print-1b2c",
    "DVCFLOW_KAFKA_SASL_PASSWORD": "sasl-password-not-to-print-9f8e",
}


@pytest.fixture
def settings_env(monkeypatch, tmp_path):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DVCFLOW_PORT", "9123")
    monkeypatch.setenv("DVCFLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["settings", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_setting_has_a_description():
    missing = [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert missing == [], f"settings without a description: {missing}"


def test_secret_looking_settings_are_declared_secret():
    """A new key, password or token setting typed ``str`` would be printed: make it fail."""
    looks_secret = re.compile(r"(password|secret|_key|_token)$")
    for name, field in Settings.model_fields.items():
        if looks_secret.search(name) and field.annotation is not bool:  # a switch is no secret
            assert is_secret(field), f"{name} looks secret but is not a SecretStr"
    assert is_secret(Settings.model_fields["pseudonym_key"])
    assert is_secret(Settings.model_fields["kafka_sasl_password"])


def test_settings_lists_every_field_with_its_value(settings_env):
    text = run()
    for name, field in Settings.model_fields.items():
        assert f"DVCFLOW_{name.upper()}" in text
        assert field.description.split()[0] in text
    assert "9123" in text  # the current value, from the environment
    doc = orjson.loads(run("--json"))
    by_name = {r["name"]: r for r in doc}
    assert list(by_name) == list(Settings.model_fields)
    port = by_name["port"]
    assert (port["env"], port["type"], port["default"], port["value"]) == (
        "DVCFLOW_PORT",
        "int",
        8050,
        9123,
    )
    assert by_name["kpi_targets"]["default"]["on_time_rate"] == 0.95
    assert all(r["description"] for r in doc)


def test_settings_never_prints_a_secret(settings_env):
    for text in (run(), run("--json")):
        for value in SECRETS.values():
            assert value not in text
    doc = {r["name"]: r for r in orjson.loads(run("--json"))}
    assert doc["pseudonym_key"]["secret"] and doc["pseudonym_key"]["value"] == "(set, hidden)"
    assert doc["kafka_sasl_password"]["value"] == "(set, hidden)"
    assert doc["kafka_sasl_username"]["value"] is None and not doc["kafka_sasl_username"]["secret"]
