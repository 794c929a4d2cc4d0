"""The published store's migrations: the declared schema is what they build (SQLite and PostgreSQL), a store from
before migrations is adopted, an older store's service tables move into the service database and back, and
concurrent starters end in one schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service import audit
from store.engine import connect, service_database
from store.publish import publish
from store.tables import SERVICE_TABLES, metadata
from tests.service.conftest import SECRET, make_world, score_run


def _head() -> str:
    """The newest migration revision (the tests follow new migrations without edits)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from store.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def test_migrations_match_the_declared_schema(published_store: str) -> None:
    """Every declared table as declared; on SQLite the service's tables in the service database and the others in the
    store's file (each file compared on its own)."""
    if not published_store.startswith("sqlite"):
        engine = sa.create_engine(published_store)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        engine.dispose()
        assert diff == []
        return
    score_side, service_side = sa.MetaData(), sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(service_side if table in SERVICE_TABLES else score_side)
    service_url = f"sqlite:///{service_database(published_store.removeprefix('sqlite:///'))}"
    for url, declared in ((published_store, score_side), (service_url, service_side)):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), declared)
        engine.dispose()
        assert diff == [], url


def test_a_store_created_before_migrations_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    score_tables = [metadata.tables[n] for n in ("score_runs", "published", "scores", "score_scope", "models")]
    metadata.create_all(old, tables=score_tables)
    old.dispose()
    engine = connect(url)
    publish(engine, score_run(make_world(), "run-1", "2024-01-01", 0.0))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()


def _migrate_to(engine: sa.Engine, revision: str, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    from store.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _service_rows(engine: sa.Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(sa.select(t))) for t in SERVICE_TABLES}


def _tables_in(engine: sa.Engine, schema: str) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}


def test_an_existing_sqlite_store_keeps_its_audit_log_worklists_and_outcomes_in_the_service_database(
    tmp_path: Path,
) -> None:
    """A store written before the service database existed: its audit entries (head and seal included), outcomes and
    issued worklists move into the service database with every row, the chain still verifies, and the store's file
    keeps none of them. A move interrupted before the store's copy was dropped completes without duplicating a row,
    and a downgrade moves everything back."""
    from store.engine import make_engine

    url = f"sqlite:///{tmp_path / 'serving.db'}"
    key = SECRET.encode()
    engine = make_engine(url)
    _migrate_to(engine, "0005")
    with engine.begin() as conn:
        for i in range(1, 6):
            audit.append_in(conn, key, "admin-user", "admin", "entity.read", "employer", f"E{i}")
        conn.exec_driver_sql(
            "INSERT INTO issued_worklists VALUES ('wl-1', 'employer', 'run-1', 'admin-user', '2024-01-02', '{}')"
        )
        conn.exec_driver_sql("INSERT INTO worklist_items VALUES ('wl-1', 0, 'employer', 'E1', 0)")
        conn.exec_driver_sql(
            "INSERT INTO outcomes VALUES ('o-1', 'employer', 'E1', '2024-01-03', 'complaint', '[]', NULL, 0, 'wl-1', "
            "'admin-user', '2024-01-03', NULL)"
        )
    before = _service_rows(engine)
    assert all(before.values()) and set(before) <= _tables_in(engine, "main")
    engine.dispose()

    engine = connect(url)
    names = {t.name for t in SERVICE_TABLES}
    assert _service_rows(engine) == before
    assert not names & _tables_in(engine, "main") and names <= _tables_in(engine, "service")
    result = audit.verify(engine, key)
    assert result.ok and result.entries == 5, result.problems

    with engine.begin() as conn:  # interrupted after the copy: the store's file still holds its (older) copy
        conn.exec_driver_sql("CREATE TABLE main.audit_log AS SELECT * FROM service.audit_log WHERE seq <= 3")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0005'")
    engine.dispose()
    engine = connect(url)
    assert _service_rows(engine) == before and "audit_log" not in _tables_in(engine, "main")

    _migrate_to(engine, "0005", down=True)
    assert _service_rows(engine) == before and names <= _tables_in(engine, "main")
    assert not names & _tables_in(engine, "service")
    assert audit.verify(engine, key).ok
    engine.dispose()


def test_concurrent_migrations_on_a_fresh_store(published_store: str, tmp_path: Path) -> None:
    """Several processes' worth of connect() at once (service workers and a scoring flow) end in one schema."""
    import concurrent.futures

    url = f"sqlite:///{tmp_path / 'fresh.db'}" if published_store.startswith("sqlite") else published_store
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        engines = list(pool.map(lambda _: connect(url), range(4)))
    with engines[0].connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
    for e in engines:
        e.dispose()
