"""What the storage layer raises, so the server can map each to an HTTP status."""

from __future__ import annotations


class StorageError(Exception):
    """Base of the storage layer's own errors."""


class NotFoundError(StorageError, LookupError):
    """A tenant, shop, agent or key that does not exist in the caller's tenant (HTTP 404)."""


class SettingsConflictError(StorageError):
    """Shop settings changed since the version the caller read (HTTP 409; read again, re-apply)."""

    def __init__(self, shop_id: int, expected: int | None, current: int | None) -> None:
        self.shop_id, self.expected, self.current = shop_id, expected, current
        super().__init__(
            f"店铺 {shop_id} 的设置已被修改（当前版本 {current}，提交基于 {expected}） "
            f"settings of shop {shop_id} changed: current version {current}, yours {expected}"
        )


class ImportInProgressError(StorageError):
    """The same file is being imported right now by a live process (HTTP 409; wait for it)."""

    def __init__(self, import_id: int, owner: str | None) -> None:
        self.import_id, self.owner = import_id, owner
        super().__init__(f"文件正在导入中（导入 {import_id}） the same file is being imported (import {import_id}, by {owner})")
