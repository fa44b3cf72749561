"""Tenants, shops and agents: the rows everything else hangs from.

`get_or_create_*` are insert-if-absent in one statement, so two imports (or two server workers)
meeting the same new shop at once both get the same row instead of one failing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefuguard.io.columns import canonical_platform
from kefuguard.storage._sql import insert_ignore
from kefuguard.storage.errors import NotFoundError
from kefuguard.storage.models import Agent, Shop, Tenant
from kefuguard.storage.types import utcnow


def create_tenant(session: Session, name: str, *, mask_pii: bool = True) -> Tenant:
    """A new tenant. PII masking at rest is on unless explicitly turned off (`mask_pii=False`)."""
    name = name.strip()
    if not name:
        raise ValueError("租户名称为空 tenant name is empty")
    tenant = Tenant(name=name, mask_pii=mask_pii)
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant(session: Session, tenant_id: int) -> Tenant:
    """The tenant, or NotFoundError (every other helper starts from a tenant that exists)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError(f"没有租户 {tenant_id} no tenant {tenant_id}")
    return tenant


def get_or_create_shop(
    session: Session, tenant_id: int, platform: str, external_id: str, *, name: str | None = None
) -> Shop:
    """The tenant's shop with this platform and external id (as exports name it), created if new.

    `platform` accepts the importers' aliases (拼多多, pdd …). `name` (display name) defaults to
    the external id and is only used when the shop is created.
    """
    code = canonical_platform(platform)
    assert code is not None
    external_id = external_id.strip()
    if not external_id:
        raise ValueError("店铺编号为空 shop external id is empty")
    session.execute(
        insert_ignore(session, Shop.__table__, ("tenant_id", "platform", "external_id")),
        [{"tenant_id": tenant_id, "platform": code, "external_id": external_id, "name": name or external_id,
          "created_at": utcnow()}],
    )
    return session.scalars(
        select(Shop).where(Shop.tenant_id == tenant_id, Shop.platform == code, Shop.external_id == external_id)
    ).one()


def get_shop(session: Session, tenant_id: int, shop_id: int) -> Shop:
    """The shop if it belongs to the tenant, else NotFoundError (another tenant's shop is not found)."""
    shop = session.scalars(select(Shop).where(Shop.tenant_id == tenant_id, Shop.id == shop_id)).one_or_none()
    if shop is None:
        raise NotFoundError(f"租户 {tenant_id} 没有店铺 {shop_id} no shop {shop_id} in tenant {tenant_id}")
    return shop


def list_shops(session: Session, tenant_id: int) -> list[Shop]:
    """The tenant's shops, by platform and external id."""
    return list(session.scalars(select(Shop).where(Shop.tenant_id == tenant_id).order_by(Shop.platform, Shop.external_id)))


def get_or_create_agent(
    session: Session, tenant_id: int, shop_id: int, external_id: str, *, name: str | None = None
) -> Agent:
    """The shop's agent with this external id (as exports name them), created if new."""
    get_shop(session, tenant_id, shop_id)
    external_id = external_id.strip()
    if not external_id:
        raise ValueError("客服编号为空 agent external id is empty")
    session.execute(
        insert_ignore(session, Agent.__table__, ("tenant_id", "shop_id", "external_id")),
        [{"tenant_id": tenant_id, "shop_id": shop_id, "external_id": external_id, "name": name or external_id,
          "created_at": utcnow()}],
    )
    return session.scalars(
        select(Agent).where(Agent.tenant_id == tenant_id, Agent.shop_id == shop_id, Agent.external_id == external_id)
    ).one()
