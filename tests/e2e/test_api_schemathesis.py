"""schemathesis against the served OpenAPI spec: no generated request makes a server error.

Runs over real HTTP against ``dvcflow serve`` (a subprocess) on a small store with a read token;
the default checks also hold every response to its documented status codes, content types and
schema, and check that a bad token is refused. One check is left out by design: a filter that is
valid by the schema but selects no dossier (an unknown province, --from after --to) is answered
422 with a message saying so, which schemathesis's "positive data accepted" heuristic flags.
"""

from __future__ import annotations

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dvcflow.access import ENV_KEYS, hash_token
from tests.dashboard.conftest import fill_store
from tests.e2e.browser import web_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-api")]
TOKEN = "dvc_fuzz-token-not-a-secret"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):
    store = fill_store(tmp_path_factory.mktemp("fuzz") / "data", 60)
    keys = [{"name": "team", "token_sha256": hash_token(TOKEN), "role": "reform_team"}]
    with web_server(store.data_dir, {ENV_KEYS: orjson.dumps(keys).decode()}) as base:
        yield schemathesis.openapi.from_url(f"{base}/api/openapi.json")


def test_no_server_error_and_responses_match_the_spec(api_schema):
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case):
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                excluded_checks=[positive_data_acceptance],
            )

        run()
        checked.append(operation.label)
    assert len(checked) >= 15, checked  # every read endpoint was exercised
