"""Command line for the server: `kefuguard serve`, `kefuguard keys create|list|revoke`, `kefuguard db upgrade`.

Kept out of cli.py's import path: FastAPI, uvicorn and SQLAlchemy are imported inside the
commands, so `kefuguard check` starts as fast as before.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="KEFUGUARD_DATABASE_URL", show_envvar=True, show_default=False,
                 help="数据库地址（默认：用户数据目录中的 SQLite 文件；PostgreSQL: postgresql://user:pass@host/db）"),
]

keys_app = typer.Typer(help="API 密钥：创建（只显示一次）、列出、吊销。", no_args_is_help=True)
db_app = typer.Typer(help="数据库：迁移到最新结构。", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"错误: {message}", err=True)
    return typer.Exit(code)


def _tenant_id(session, name: str) -> int:
    """The id of the tenant called `name`; a clear error (exit 2) when there is none."""
    from sqlalchemy import select

    from kefuguard.storage.models import Tenant

    tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == name.strip()))
    if tenant_id is None:
        raise _fail(f"没有租户 {name!r}")
    return tenant_id


@contextmanager
def _database(url: str | None, *, migrate: bool = True) -> Iterator[Any]:
    """The database, migrated (unless `migrate=False`), disposed of when the command is done."""
    from kefuguard.storage.db import Database

    try:
        db = Database(url)
        if migrate:
            db.upgrade()
    except Exception as exc:
        shown = url or "默认 SQLite default SQLite"
        raise _fail(f"无法打开或迁移数据库 {shown}: {type(exc).__name__}: {_short(exc)} / "
                    f"cannot open or migrate the database") from exc
    try:
        yield db
    finally:
        db.dispose()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址（默认只监听本机；对外服务请放在反向代理之后）")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口", min=1, max=65535)] = 8000,
    database_url: DatabaseOpt = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="允许跨域访问的来源（可重复；默认不允许）", show_default=False)
    ] = None,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="逐条请求日志")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="日志级别 debug|info|warning|error")] = "info",
) -> None:
    """启动 HTTP API 服务与质检看板（一个进程；启动时自动迁移数据库）。看板: http://HOST:PORT/ ，文档: /docs"""
    import logging

    import uvicorn

    from kefuguard.rules.model import PLATFORMS
    from kefuguard.server.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(database_url, warm_platforms=PLATFORMS,
                         cors_origins=tuple(cors_origin) if cors_origin else None)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    except Exception as exc:
        raise _fail(f"无法启动: {type(exc).__name__}: {_short(exc)} / cannot start") from exc
    db = app.state.kefuguard.store.db
    typer.echo(f"kefuguard 看板 dashboard: http://{host}:{port}/  (API docs: /docs, database: {db.dialect})", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=access_log, workers=1)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="租户名称（不存在时自动创建）")],
    role: Annotated[str, typer.Option("--role", help="admin | supervisor | agent")],
    agent: Annotated[str | None, typer.Option("--agent", help="agent 角色：客服编号（GET /v1/agents 的 id）或客服账号")] = None,
    shop: Annotated[int | None, typer.Option("--shop", help="与 --agent 账号一起：客服不存在时在该店铺下创建")] = None,
    label: Annotated[str | None, typer.Option("--label", help="备注（设置变更记录中显示为修改人）")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """创建 API 密钥并打印一次（只保存其哈希，之后无法再查看）。"""
    from sqlalchemy import select

    from kefuguard.storage.errors import NotFoundError
    from kefuguard.storage.keys import create_api_key
    from kefuguard.storage.models import Agent, Tenant
    from kefuguard.storage.tenants import create_tenant, get_or_create_agent

    if role not in ("admin", "supervisor", "agent"):
        raise _fail(f"--role 须为 admin、supervisor 或 agent，得到 {role!r}")
    if (role == "agent") != (agent is not None):
        raise _fail("agent 角色须用 --agent 指定客服；其他角色不能指定 --agent")
    if not tenant.strip():
        raise _fail("--tenant 为空")
    try:
        with _database(database_url) as db, db.session(immediate=True) as s:
            t = s.scalars(select(Tenant).where(Tenant.name == tenant.strip())).first()
            created = t is None
            if t is None:
                t = create_tenant(s, tenant)
            agent_id = None
            if agent is not None:
                if agent.isdigit():
                    agent_id = s.scalar(select(Agent.id).where(Agent.tenant_id == t.id, Agent.id == int(agent)))
                if agent_id is None:
                    found = list(s.scalars(select(Agent).where(Agent.tenant_id == t.id, Agent.external_id == agent)
                                           .where(*([Agent.shop_id == shop] if shop is not None else []))))
                    if len(found) == 1:
                        agent_id = found[0].id
                    elif len(found) > 1:
                        raise _fail(f"客服账号 {agent!r} 在多个店铺中出现，请用 --shop 指定店铺")
                    elif shop is not None:
                        agent_id = get_or_create_agent(s, t.id, shop, agent).id
                    else:
                        raise _fail(f"租户 {tenant} 没有客服 {agent!r}（导入聊天记录后可在 GET /v1/agents 查到；"
                                    "或加 --shop 店铺编号 新建）")
            key, plaintext = create_api_key(s, t.id, role, agent_id, label)
            key_id, tenant_id = key.id, t.id
    except NotFoundError as exc:
        raise _fail(f"店铺或客服不存在: {exc}") from exc
    if created:
        typer.echo(f"已新建租户 {tenant}（编号 {tenant_id}）", err=True)
    who = f"，客服 {agent_id}" if agent_id is not None else ""
    typer.echo(f"已创建 {role} 密钥（编号 {key_id}，租户 {tenant}{who}）。密钥只显示这一次，请妥善保存：", err=True)
    sys.stdout.write(plaintext + "\n")


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str, typer.Option("--tenant", help="租户名称")],
    include_revoked: Annotated[bool, typer.Option("--all", help="包括已吊销的密钥")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """列出租户的密钥（只显示前缀，不显示密钥本身）。"""
    from kefuguard.storage.keys import list_api_keys

    with _database(database_url) as db, db.session() as s:
        tenant_id = _tenant_id(s, tenant)
        for k in list_api_keys(s, tenant_id, include_revoked=include_revoked):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            agent = f" agent={k.agent_id}" if k.agent_id else ""
            typer.echo(f"{k.id}\tkg_{k.prefix}_…\t{k.role}{agent}\t{k.label or ''}\t{state}")


@keys_app.command("revoke")
def keys_revoke(
    tenant: Annotated[str, typer.Option("--tenant", help="租户名称")],
    key_id: Annotated[int, typer.Argument(help="密钥编号（keys list 第一列）")],
    database_url: DatabaseOpt = None,
) -> None:
    """吊销密钥（运行中的服务最多 5 秒后拒绝它）。"""
    from kefuguard.storage.errors import NotFoundError
    from kefuguard.storage.keys import revoke_api_key

    with _database(database_url) as db, db.session() as s:
        tenant_id = _tenant_id(s, tenant)
        try:
            done = revoke_api_key(s, tenant_id, key_id)
        except NotFoundError as exc:
            raise _fail(f"租户 {tenant} 没有密钥 {key_id}") from exc
    typer.echo("已吊销" if done else "该密钥此前已吊销")


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """把数据库结构迁移到最新版本（serve 启动时也会自动执行）。"""
    with _database(database_url, migrate=False) as db:
        try:
            before = db.current_revision()
            db.upgrade()
            after = db.current_revision()
        except Exception as exc:
            raise _fail(f"迁移失败: {type(exc).__name__}: {_short(exc)} / migration failed") from exc
    typer.echo(f"数据库已是最新结构 {after}" if before == after else f"数据库已从 {before or '空'} 迁移到 {after}")


def add_server_commands(app: typer.Typer) -> None:
    """Register serve, keys and db on the main CLI."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")
