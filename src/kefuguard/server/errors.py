"""Every error the API returns is one JSON shape, in Chinese and English, with the right status:

    {"error": {"code": "not_found", "message": "中文说明", "message_en": "English", "field": null}}

`ApiError` is raised by the handlers; request validation errors (422), Starlette's own 404/405
and anything unexpected (500: logged here with its traceback, a generic body to the client) are
rewritten to the same shape by the exception handlers installed with `install_error_handlers`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("kefuguard.server")


class ApiError(Exception):
    """An error response: status, stable code, Chinese and English message, optional field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        message_en: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.status, self.code, self.message, self.message_en = status, code, message, message_en
        self.field, self.headers, self.details = field, dict(headers or {}), details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code, "message": self.message, "message_en": self.message_en, "field": self.field,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False).encode()

    def response(self) -> Response:
        return error_response(self.status, self.body(), self.headers)


def error_response(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False).encode()
    return Response(content, status_code=status, headers=dict(headers or {}), media_type="application/json")


# ------------------------------------------------------------------ the common errors
def not_found(what_zh: str, what_en: str, ident: object = None, *, field: str | None = None) -> ApiError:
    suffix = f" {ident}" if ident is not None else ""
    return ApiError(404, "not_found", f"{what_zh}{suffix} 不存在", f"{what_en}{suffix} not found", field=field)


def unauthorized(reason_zh: str = "缺少 API 密钥", reason_en: str = "missing API key") -> ApiError:
    return ApiError(
        401, "unauthorized",
        f"{reason_zh}：请在请求头 Authorization: Bearer <密钥> 或 X-API-Key 中提供有效密钥",
        f"{reason_en}: send a valid key as 'Authorization: Bearer <key>' or 'X-API-Key'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(role: str, need_zh: str, need_en: str) -> ApiError:
    return ApiError(403, "forbidden", f"角色 {role} 无权{need_zh}", f"role {role} may not {need_en}")


def rate_limited(retry_after: float) -> ApiError:
    seconds = max(1, math.ceil(retry_after))
    return ApiError(
        429, "rate_limited", f"请求过于频繁，请 {seconds} 秒后重试",
        f"too many requests; retry after {seconds} s", headers={"Retry-After": str(seconds)},
    )


def too_large(limit: int, what_zh: str = "请求体", what_en: str = "request body") -> ApiError:
    return ApiError(
        413, "payload_too_large", f"{what_zh}超过上限 {_size(limit)}", f"{what_en} larger than the limit of {_size(limit)}",
    )


def invalid(field: str | None, message: str, message_en: str, status: int = 422) -> ApiError:
    return ApiError(status, "invalid", message, message_en, field=field)


def conflict(message: str, message_en: str, *, field: str | None = None) -> ApiError:
    return ApiError(409, "conflict", message, message_en, field=field)


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes"


# ------------------------------------------------------------------ validation errors
_ZH_BY_TYPE = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "请求体不是有效的 JSON",
    "json_type": "请求体须为 JSON 对象",
    "model_attributes_type": "须为 JSON 对象",
    "dict_type": "须为 JSON 对象",
    "model_type": "须为 JSON 对象",
    "list_type": "须为数组",
    "string_type": "须为字符串",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "bool_type": "须为布尔值",
    "bool_parsing": "须为布尔值",
    "string_too_short": "字符串过短",
    "string_too_long": "字符串过长",
    "too_short": "元素过少",
    "too_long": "元素过多",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不正确",
    "date_from_datetime_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_type": "日期格式不正确（应为 YYYY-MM-DD）",
    "datetime_parsing": "时间格式不正确（应为 ISO 8601）",
    "datetime_type": "时间格式不正确（应为 ISO 8601）",
    "uuid_parsing": "编号格式不正确",
    "string_unicode": "须为 UTF-8 文本",
    "union_tag_invalid": "取值不在允许范围内",
}


def _field_name(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name or None


def _split_bilingual(msg: str) -> tuple[str, str] | None:
    """Our own validators say "中文 / English"; pydantic prefixes them with 'Value error, '."""
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    zh, sep, en = msg.partition(" / ")
    if sep and zh and en:
        return zh.strip(), en.strip()
    return None


def validation_error(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """A pydantic/FastAPI error list as one ApiError (the first error named, all listed)."""
    details = []
    for err in errors[:20]:
        kind = str(err.get("type", "value_error"))
        msg = str(err.get("msg", ""))
        both = _split_bilingual(msg)
        zh, en = both if both else (_ZH_BY_TYPE.get(kind, "取值无效"), msg or "invalid value")
        details.append({"field": _field_name(err.get("loc", ())), "type": kind, "message": zh, "message_en": en})
    if not details:
        details.append({"field": None, "type": "value_error", "message": "请求无效", "message_en": "invalid request"})
    first = details[0]
    where_zh = f"字段 {first['field']}：" if first["field"] else ""
    where_en = f"field {first['field']}: " if first["field"] else ""
    more_zh = f"（另有 {len(errors) - 1} 处错误）" if len(errors) > 1 else ""
    more_en = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return ApiError(
        422, "validation_error", f"请求参数无效：{where_zh}{first['message']}{more_zh}",
        f"invalid request: {where_en}{first['message_en']}{more_en}", field=first["field"], details=details,
    )


# ------------------------------------------------------------------ handlers
_HTTP_CODES = {
    400: ("bad_request", "请求无效", "bad request"),
    401: ("unauthorized", "未认证", "not authenticated"),
    403: ("forbidden", "无权访问", "forbidden"),
    404: ("not_found", "接口或资源不存在", "no such endpoint or resource"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    406: ("not_acceptable", "无法提供所请求的格式", "not acceptable"),
    413: ("payload_too_large", "请求体过大", "request body too large"),
    415: ("unsupported_media_type", "不支持的请求内容类型", "unsupported media type"),
    422: ("validation_error", "请求参数无效", "invalid request"),
    429: ("rate_limited", "请求过于频繁", "too many requests"),
}


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, zh, en = _HTTP_CODES.get(exc.status_code, ("http_error", "请求失败", "request failed"))
    limit = getattr(exc, "limit", None)  # middleware.BodyTooLarge
    if exc.status_code == 413 and isinstance(limit, int):
        return too_large(limit).response()
    headers = dict(exc.headers or {})
    body = {"error": {"code": code, "message": zh, "message_en": en, "field": None}}
    return error_response(exc.status_code, body, headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_error(list(exc.errors())).response()


def server_error_body() -> dict[str, Any]:
    return {"error": {"code": "internal_error", "message": "服务器内部错误，已记录，请稍后重试",
                      "message_en": "internal server error; it has been logged, please retry later", "field": None}}


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, server_error_body())


async def _storage_not_found(_request: Request, _exc: Exception) -> Response:
    return ApiError(404, "not_found", "资源不存在（或不属于本租户）", "not found (or not in your tenant)").response()


async def _settings_conflict(_request: Request, exc: Exception) -> Response:
    current = getattr(exc, "current", None)
    now_zh = f"（当前版本 {current}）" if current is not None else ""
    now_en = f" (now at version {current})" if current is not None else ""
    return ApiError(409, "settings_conflict", f"店铺设置已被他人修改{now_zh}，请重新读取后再提交",
                    f"the shop's settings changed since you read them{now_en}; read them again and re-apply",
                    field="If-Match").response()


async def _shop_settings_error(_request: Request, exc: Exception) -> Response:
    zh, en = getattr(exc, "zh", str(exc)), getattr(exc, "en", str(exc))
    field = getattr(exc, "field", None) or None
    if field is None:  # a nested word's error carries its path in the text: "banned_words[0] = '.*': …"
        named = _FIELD_PREFIX.match(zh)
        field = named.group(1) if named else None
    value = getattr(exc, "value", None)
    shown = f" = {value!r}" if value is not None and not isinstance(value, (dict, list)) else ""
    where = f"{field}{shown}: " if field else ""
    return ApiError(422, "invalid_settings", f"店铺设置无效：{where}{zh}", f"invalid shop settings: {where}{en}",
                    field=field).response()


_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]+]*)(?: = [^:]*)?: ")


async def _import_in_progress(_request: Request, _exc: Exception) -> Response:
    return ApiError(409, "import_in_progress", "同一文件正在导入中，请稍后再试",
                    "the same file is being imported right now; try again later").response()


def install_error_handlers(app: FastAPI) -> None:
    from kefuguard.shop import ShopSettingsError
    from kefuguard.storage.errors import ImportInProgressError, NotFoundError, SettingsConflictError

    app.add_exception_handler(NotFoundError, _storage_not_found)
    app.add_exception_handler(SettingsConflictError, _settings_conflict)
    app.add_exception_handler(ShopSettingsError, _shop_settings_error)
    app.add_exception_handler(ImportInProgressError, _import_in_progress)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)


def error_schema() -> dict[str, Any]:
    """The OpenAPI schema of the error body (documented on every route)."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "message_en"],
                "properties": {
                    "code": {"type": "string", "examples": ["not_found"]},
                    "message": {"type": "string", "description": "中文说明"},
                    "message_en": {"type": "string", "description": "English message"},
                    "field": {"type": ["string", "null"], "description": "the field at fault, if any"},
                    "details": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
    }
