"""The compose file and Dockerfile, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dvcflow.settings import Settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_services_present(compose: dict) -> None:
    assert {"kafka", "topics", "gateway", "sink", "web"} <= set(compose["services"])


def test_kafka_is_official_image_in_kraft_mode(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", kafka["image"])
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "ZOOKEEPER" not in " ".join(env).upper()
    node = str(env["KAFKA_NODE_ID"])
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node}@kafka:")
    controller_port = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].rsplit(":", 1)[1]
    assert f"CONTROLLER://:{controller_port}" in env["KAFKA_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # topics come from `topics`
    assert "kafka-broker-api-versions" in " ".join(kafka["healthcheck"]["test"])


def test_dvcflow_services_reach_kafka_through_an_advertised_listener(compose: dict) -> None:
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    addresses = {a.split("://", 1)[1] for a in advertised.split(",")}
    for name in ("topics", "gateway", "sink", "web"):
        env = compose["services"][name]["environment"]
        assert env["DVCFLOW_KAFKA_BOOTSTRAP"] in addresses, name
        assert env["DVCFLOW_PSEUDONYM_KEY"].startswith("${DVCFLOW_PSEUDONYM_KEY:?"), name


def test_every_dvcflow_variable_is_a_real_setting(compose: dict) -> None:
    fields = {f"DVCFLOW_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for var in service.get("environment", {}):
            if var.startswith("DVCFLOW_"):
                assert var in fields, f"{name}: {var} is not a setting"


def test_commands_ports_and_healthchecks(compose: dict) -> None:
    services = compose["services"]
    assert services["topics"]["command"] == ["broker"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["sink"]["command"] == ["sink"]
    assert services["sink"]["deploy"]["replicas"] >= 2  # one consumer group shares partitions
    assert services["sink"]["stop_signal"] == "SIGTERM"
    # endpoints that answer 200 without a token, so the checks hold once keys exist
    for name, port, path in (
        ("gateway", "8080", "/api/v1/stream/health"),
        ("web", "8050", "/api/v1/health"),
    ):
        command = services[name]["command"]
        assert command[command.index("--port") + 1] == port
        assert f"{port}:{port}" in services[name]["ports"]
        assert f"127.0.0.1:{port}{path}'" in " ".join(services[name]["healthcheck"]["test"])
    for name in ("gateway", "sink", "web"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
        condition = services[name]["depends_on"]["topics"]["condition"]
        assert condition == "service_completed_successfully"
    assert {"data", "kafka-data"} <= set(compose["volumes"])


def test_dockerfile_builds_the_package_and_runs_dvcflow(compose: dict) -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-3]", text, re.M)
    assert "pip install" in text and 'ENTRYPOINT ["dvcflow"]' in text
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    exposed = set(re.search(r"^EXPOSE (.+)$", text, re.M).group(1).split())
    assert {"8050", "8080"} <= exposed
    build = compose["services"]["gateway"]["build"]
    assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    for package in ("dvcflow", "ingest", "mining", "dashboard", "sample_logs"):
        assert f"COPY {package} ./{package}" in text
