"""Alembic migrations of the storage schema (run through kefuguard.storage.db, no alembic.ini)."""
