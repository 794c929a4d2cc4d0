"""Store fixtures: a fresh store with the service tests' synthetic world published into it (SQLite, and PostgreSQL
when ``TRACERISK_TEST_POSTGRES_URL`` names a server: .ci/postgres.sh starts one)."""

from __future__ import annotations

import pytest

from store.engine import connect
from store.publish import publish
from tests.service.conftest import BACKENDS, make_world, score_run, store_url_for


@pytest.fixture(scope="module", params=BACKENDS)
def published_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a migrated store holding two published score runs of every entity type."""
    url = store_url_for(str(request.param), tmp_path_factory.mktemp(f"store-{request.param}"))
    engine = connect(url)
    world = make_world()
    publish(engine, score_run(world, "run-2024-01-01", "2024-01-01", -0.05))
    publish(engine, score_run(world, "run-2024-04-01", "2024-04-01", 0.0))
    engine.dispose()
    return url
