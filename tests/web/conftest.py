"""Dashboard tests: the API endpoints the pages use (on SQLite and, with KEFUGUARD_TEST_PG_URL, on
PostgreSQL — the server tests' `env` fixture), the static files, and the pages in a real browser
(test_dashboard_browser.py, with its own live server)."""

from tests.server.conftest import env  # noqa: F401  (the fixture, shared with the server tests)
