"""The HTTP API (FastAPI): `create_app()` in kefuguard.server.app, `kefuguard serve` on the command line.

Imported lazily: `from kefuguard.server import create_app` loads FastAPI; the audit worker
process (kefuguard.server.audit_job) does not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from kefuguard.server.app import create_app

        return create_app
    raise AttributeError(name)
