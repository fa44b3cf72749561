"""`kefuguard db upgrade`, `kefuguard keys create|list|revoke`, and the CLI's cold start."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from kefuguard.cli import app
from kefuguard.storage import Database
from kefuguard.storage.keys import authenticate


def test_db_upgrade_and_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'kg.db'}"
    runner = CliRunner()
    r = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert r.exit_code == 0 and "最新" in r.output
    r = runner.invoke(app, ["keys", "create", "--tenant", "演示公司", "--role", "supervisor", "--label", "主管",
                            "--database-url", url])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("kg_") and len(key) > 40
    with Database(url) as db, db.session() as s:
        found = authenticate(s, key)
        assert found is not None and found.role == "supervisor" and found.label == "主管"
        assert found.key_hash != key  # stored hashed
    r = runner.invoke(app, ["keys", "list", "--tenant", "演示公司", "--database-url", url])
    assert r.exit_code == 0 and key not in r.output and "supervisor" in r.output
    key_id = r.output.split()[0]
    r = runner.invoke(app, ["keys", "revoke", "--tenant", "演示公司", key_id, "--database-url", url])
    assert r.exit_code == 0
    with Database(url) as db, db.session() as s:
        assert authenticate(s, key) is None
    # errors are one clear line and a non-zero exit
    r = runner.invoke(app, ["keys", "create", "--tenant", "演示公司", "--role", "boss", "--database-url", url])
    assert r.exit_code == 2 and "admin" in r.output
    r = runner.invoke(app, ["keys", "create", "--tenant", "演示公司", "--role", "agent", "--agent", "nobody",
                            "--database-url", url])
    assert r.exit_code == 2 and "没有客服" in r.output


def test_cli_cold_start_does_not_import_the_server():
    code = ("import sys, kefuguard.cli; bad = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'starlette') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
