"""The migrations produce exactly the schema the models describe, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from integration.cli import main
from integration.store.migrate import upgrade
from integration.store.models import Base


def test_migrated_schema_matches_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_upgrade_is_idempotent(database_url):
    upgrade(database_url)
    upgrade(database_url)
    engine = create_engine(database_url)
    assert "webhook_events" in inspect(engine).get_table_names()
    engine.dispose()


def test_cli_db_upgrade_creates_a_new_sqlite_database(tmp_path, monkeypatch):
    path = tmp_path / "nested" / "fresh.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    engine = create_engine(f"sqlite:///{path}")
    assert {"webhook_events", "contacts", "interactions", "follow_up_tasks"} <= set(inspect(engine).get_table_names())
    engine.dispose()
