"""API keys: the plaintext is shown once and never stored; authenticate and revoke."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from kefuguard.storage import (
    ApiKey,
    Database,
    NotFoundError,
    authenticate,
    create_api_key,
    create_tenant,
    get_or_create_agent,
    get_or_create_shop,
    hash_key,
    list_api_keys,
    revoke_api_key,
)


def _dump(database: Database) -> str:
    """Everything in the api_keys table, as text."""
    with database.engine.connect() as conn:
        return repr(conn.execute(text("SELECT * FROM api_keys")).fetchall())


def test_keys_are_stored_hashed_and_authenticate(database: Database) -> None:
    with database.session() as s:
        tenant = create_tenant(s, "甲")
        shop = get_or_create_shop(s, tenant.id, "douyin", "潮童服饰")
        agent = get_or_create_agent(s, tenant.id, shop.id, "潮童服饰:小美")
        admin, admin_text = create_api_key(s, tenant.id, "admin", label="老板")
        agent_key, agent_text = create_api_key(s, tenant.id, "agent", agent_id=agent.id)
    assert admin_text.startswith("kg_") and len(admin_text) > 50 and admin_text != agent_text
    stored = _dump(database)
    for plaintext in (admin_text, agent_text):
        assert plaintext not in stored
        assert plaintext.split("_", 2)[2] not in stored  # not even the secret part
    assert hash_key(admin_text) in stored

    with database.session() as s:
        found = authenticate(s, admin_text)
        assert found is not None and (found.id, found.role, found.tenant_id, found.label) == (
            admin.id, "admin", tenant.id, "老板")
        found = authenticate(s, agent_text)
        assert found is not None and (found.role, found.agent_id) == ("agent", agent.id)
        for wrong in (admin_text[:-1] + ("A" if admin_text[-1] != "A" else "B"), "", "kg_", "kg_x_y",
                      "Bearer " + admin_text, admin_text.replace("kg_", "xx_", 1), "kg_" + "a" * 500 + "_b"):
            assert authenticate(s, wrong) is None, wrong
    with database.session() as s:
        assert revoke_api_key(s, tenant.id, admin.id) is True
        assert revoke_api_key(s, tenant.id, admin.id) is False  # already revoked
    with database.session() as s:
        assert authenticate(s, admin_text) is None
        assert authenticate(s, agent_text) is not None
        assert [k.id for k in list_api_keys(s, tenant.id)] == [agent_key.id]
        assert len(list_api_keys(s, tenant.id, include_revoked=True)) == 2
        assert s.get(ApiKey, admin.id).revoked_at is not None


def test_roles_and_tenants(database: Database) -> None:
    with database.session() as s:
        a, b = create_tenant(s, "甲"), create_tenant(s, "乙")
        shop_b = get_or_create_shop(s, b.id, "jd", "极客数码")
        agent_b = get_or_create_agent(s, b.id, shop_b.id, "极客数码:小K")
        with pytest.raises(ValueError, match="unknown role"):
            create_api_key(s, a.id, "owner")
        with pytest.raises(ValueError, match="agent key needs agent_id"):
            create_api_key(s, a.id, "agent")
        with pytest.raises(ValueError, match="agent key needs agent_id"):
            create_api_key(s, a.id, "supervisor", agent_id=agent_b.id)
        with pytest.raises(NotFoundError):  # another tenant's agent
            create_api_key(s, a.id, "agent", agent_id=agent_b.id)
        key_b, _ = create_api_key(s, b.id, "supervisor")
    with database.session() as s, pytest.raises(NotFoundError):
        revoke_api_key(s, a.id, key_b.id)  # tenant A cannot revoke B's key
    with database.session() as s:
        assert s.scalars(select(ApiKey.revoked_at).where(ApiKey.id == key_b.id)).one() is None
        assert list_api_keys(s, a.id) == []
