"""API keys: created once, shown once, stored hashed, checked in constant time.

A key reads `kg_<prefix>_<secret>`: the prefix (48 random bits, stored in clear) finds the row,
the secret carries 256 random bits. Only SHA-256 of the whole key is stored — with that much
entropy a slow password hash protects nothing more and would cost every request — so a copy
of the database does not let anyone call the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kefuguard.storage.errors import NotFoundError
from kefuguard.storage.models import ROLES, Agent, ApiKey
from kefuguard.storage.tenants import get_tenant
from kefuguard.storage.types import utcnow

KEY_SCHEME = "kg"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def hash_key(plaintext: str) -> str:
    """What is stored for a key: hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def _prefix_of(plaintext: str) -> str | None:
    scheme, _, rest = plaintext.partition("_")
    prefix, sep, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not sep or not prefix or not secret or len(prefix) > 32:
        return None
    return prefix


def create_api_key(
    session: Session, tenant_id: int, role: str, agent_id: int | None = None, label: str | None = None
) -> tuple[ApiKey, str]:
    """A new key and its plaintext — the only time the plaintext exists; show it, never store it.

    `role`: admin, supervisor or agent. An agent key must name the agent (of this tenant) whose
    conversations it may see; admin and supervisor keys name none.
    """
    if role not in ROLES:
        raise ValueError(f"未知角色 unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if (role == "agent") != (agent_id is not None):
        raise ValueError("客服密钥须指定客服，其他角色不可指定 an agent key needs agent_id; other roles take none")
    get_tenant(session, tenant_id)
    if agent_id is not None:
        found = session.scalars(select(Agent.id).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)).first()
        if found is None:
            raise NotFoundError(f"租户 {tenant_id} 没有客服 {agent_id} no agent {agent_id} in tenant {tenant_id}")
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(tenant_id=tenant_id, role=role, agent_id=agent_id, prefix=prefix, key_hash=hash_key(plaintext),
                 label=label)
    session.add(key)
    session.flush()
    return key, plaintext


def authenticate(session: Session, plaintext: str) -> ApiKey | None:
    """The live key this plaintext is, or None (unknown, malformed, wrong secret or revoked).

    The hash comparison is constant-time and runs even when the prefix is unknown, so timing
    tells an attacker nothing about which prefixes exist.
    """
    if not isinstance(plaintext, str):
        return None
    prefix = _prefix_of(plaintext)
    key = None
    if prefix is not None:
        key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    expected = key.key_hash if key is not None else _DUMMY_HASH
    matches = hmac.compare_digest(expected.encode(), hash_key(plaintext).encode())
    if key is None or not matches or key.revoked_at is not None:
        return None
    return key


def revoke_api_key(session: Session, tenant_id: int, key_id: int) -> bool:
    """Revoke the tenant's key (at once: the next request with it fails). False if already revoked.

    NotFoundError if the tenant has no such key (another tenant's key is never touched).
    """
    key = session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)).one_or_none()
    if key is None:
        raise NotFoundError(f"租户 {tenant_id} 没有密钥 {key_id} no API key {key_id} in tenant {tenant_id}")
    result = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


def list_api_keys(session: Session, tenant_id: int, *, include_revoked: bool = False) -> list[ApiKey]:
    """The tenant's keys (never their secrets), oldest first."""
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiKey.id)))
