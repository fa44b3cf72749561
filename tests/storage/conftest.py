"""Storage tests run on SQLite and PostgreSQL; the fixtures live in db_fixtures.py (reusable)."""

from tests.storage.db_fixtures import (  # noqa: F401 - fixtures are found by name
    _pg_empty_url,
    _pg_migrated_url,
    _sqlite_template,
    database,
    db_url,
    pg_admin_url,
    pg_databases,
)
