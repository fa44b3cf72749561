"""Per-shop settings (kefuguard.shop.ShopSettings as JSON), versioned, with a change log.

Every accepted change bumps the version and records who changed what (a JSON diff), so a
supervisor can see why a word stopped being flagged. Writes are compare-and-swap on the version:
two supervisors saving at once never silently overwrite each other — the second one gets
SettingsConflictError (and with `expected_version`, the server can offer If-Match semantics).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefuguard.shop import SHOP_ID, ShopChecker, ShopSettings, ShopSettingsError, parse_settings
from kefuguard.storage.errors import SettingsConflictError
from kefuguard.storage.models import Shop, ShopSettingsChange, ShopSettingsRecord
from kefuguard.storage.tenants import get_shop
from kefuguard.storage.types import utcnow


def settings_diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """What changed from `old` to `new` (JSON values), as a list of operations.

    Mappings are compared key by key (`path` like "normalization.fold_case"); lists element-wise
    as sets ({"op": "add"/"remove", "path": "banned_words", "value": …}), because a word list's
    order means nothing; anything else as {"op": "change", "old": …, "new": …}.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                ops.append({"op": "add", "path": sub, "value": new[key]})
            elif key not in new:
                ops.append({"op": "remove", "path": sub, "value": old[key]})
            else:
                ops.extend(settings_diff(old[key], new[key], sub))
        return ops
    if isinstance(old, list) and isinstance(new, list):
        old_keys, new_keys = {_canonical(v) for v in old}, {_canonical(v) for v in new}
        ops = [{"op": "remove", "path": path, "value": v} for v in old if _canonical(v) not in new_keys]
        ops += [{"op": "add", "path": path, "value": v} for v in new if _canonical(v) not in old_keys]
        return ops
    if old == new and type(old) is type(new):
        return []
    return [{"op": "change", "path": path, "old": old, "new": new}]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def default_shop_id(shop_external_id: str, shop_id: int) -> str:
    """The settings' shop_id (used in rule ids, shop.<shop_id>.word): the export's shop id when it
    is a valid one, else `shop<database id>` (Chinese shop names are not)."""
    return shop_external_id if SHOP_ID.match(shop_external_id) else f"shop{shop_id}"


def get_shop_settings(session: Session, tenant_id: int, shop_id: int) -> ShopSettingsRecord | None:
    """The shop's current settings row (`.settings` JSON, `.version`, `.updated_by/at`); None if
    never set. NotFoundError if the shop is not the tenant's."""
    get_shop(session, tenant_id, shop_id)
    return session.scalars(
        select(ShopSettingsRecord).where(ShopSettingsRecord.tenant_id == tenant_id, ShopSettingsRecord.shop_id == shop_id)
    ).one_or_none()


def settings_for_shop(shop: Shop, settings: Mapping[str, Any] | ShopSettings) -> ShopSettings:
    """The settings validated for this shop: `platform` and `shop_id` default to the shop's, and a
    different platform is refused (ShopSettingsError naming the field)."""
    data = settings.model_dump(mode="json") if isinstance(settings, ShopSettings) else dict(settings)
    data.setdefault("platform", shop.platform)
    data.setdefault("shop_id", default_shop_id(shop.external_id, shop.id))
    model = parse_settings(data)
    if model.platform != shop.platform:
        raise ShopSettingsError(
            f"店铺在 {shop.platform} 平台，设置却是 {model.platform} 平台的",
            f"the shop is on {shop.platform}; these settings are for {model.platform}",
            field="platform", value=model.platform,
        )
    return model


def put_shop_settings(
    session: Session,
    tenant_id: int,
    shop_id: int,
    settings: dict[str, Any] | ShopSettings,
    who: str,
    *,
    expected_version: int | None = None,
    check_rules: bool = True,
) -> int:
    """Validate and store a shop's whole settings; returns the new version (1 for the first).

    `settings` is ShopSettings' JSON; `platform` and `shop_id` default to the shop's (a different
    platform is refused). Validation is kefuguard.shop's own: ShopSettingsError names the field
    and says why, in Chinese and English. With `check_rules` (default) the settings are also
    compiled for the platform, which refuses rule ids the platform does not have — the same check
    the server's ShopChecker would fail on later. Unchanged settings store nothing and return
    the current version. `expected_version` (the version the caller read; 0: none yet) makes the
    write fail with SettingsConflictError if someone else saved in between.
    """
    model = settings_for_shop(get_shop(session, tenant_id, shop_id), settings)
    if check_rules:
        ShopChecker(model)  # compiles the overlay: unknown rule ids raise ShopSettingsError
    new = model.model_dump(mode="json")
    who = (who or "").strip()[:200] or "unknown"

    current = get_shop_settings(session, tenant_id, shop_id)
    current_version = current.version if current is not None else 0
    if expected_version is not None and expected_version != current_version:
        raise SettingsConflictError(shop_id, expected_version, current_version)
    old = current.settings if current is not None else _defaults(model)
    diff = settings_diff(old, new)
    if current is not None and not diff:
        return current.version
    version = current_version + 1
    now = utcnow()
    try:
        with session.begin_nested():  # a lost race leaves the caller's transaction usable
            if current is None:
                session.add(ShopSettingsRecord(tenant_id=tenant_id, shop_id=shop_id, version=version, settings=new,
                                               updated_by=who, updated_at=now))
            else:
                done = session.execute(
                    update(ShopSettingsRecord)
                    .where(ShopSettingsRecord.id == current.id, ShopSettingsRecord.version == current_version)
                    .values(version=version, settings=new, updated_by=who, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if done.rowcount != 1:
                    raise SettingsConflictError(shop_id, current_version, None)
            session.add(ShopSettingsChange(tenant_id=tenant_id, shop_id=shop_id, version=version, who=who, at=now,
                                           diff=diff))
    except IntegrityError:
        raise SettingsConflictError(shop_id, current_version, None) from None
    if current is not None:
        session.refresh(current)
    return version


def _defaults(model: ShopSettings) -> dict[str, Any]:
    """A new shop's settings: the first change log entry shows what differs from these."""
    return ShopSettings(shop_id=model.shop_id, platform=model.platform).model_dump(mode="json")


def settings_history(session: Session, tenant_id: int, shop_id: int, *, limit: int = 100) -> list[ShopSettingsChange]:
    """The shop's settings changes, newest first (version, who, at, diff)."""
    get_shop(session, tenant_id, shop_id)
    return list(session.scalars(
        select(ShopSettingsChange)
        .where(ShopSettingsChange.tenant_id == tenant_id, ShopSettingsChange.shop_id == shop_id)
        .order_by(ShopSettingsChange.version.desc())
        .limit(limit)
    ))
