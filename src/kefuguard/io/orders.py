"""Importers for order and after-sales (refund) exports: CSV/TSV/XLSX, UTF-8 or GBK, Chinese headers.

Built on the chat importers' machinery (`kefuguard.io.importers`): the same encoding sniffing,
`Reject` records (file, line, bilingual reason naming the field, raw row), `FileStats` counts with
read = accepted + duplicates + rejected, and a `mapping` {their header: field} for unknown headers
(the command line's `--map`). A file without a usable header is one reject on line 0 (status
'unreadable'); when no file is readable, ColumnError is raised. Header names: docs/kpi.md.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any

from kefuguard.io.columns import (
    CellError,
    ColumnError,
    canonical_platform,
    cell_text,
    normalize_header,
    parse_time,
)
from kefuguard.io.importers import (
    HEADER_SCAN_ROWS,
    FileStats,
    ImportStats,
    Reject,
    RejectsWriter,
    _choose_delimiter,
    _is_blank,
    _open_text,
    _raw_cells,
    _Rejects,
    detect_format,
    reason_in,
)
from kefuguard.sales.models import Order, Refund

# field -> (中文名, accepted header spellings, most specific first)
ORDER_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "order_id": ("订单号", ("order_id", "订单号", "订单编号", "订单ID", "主订单编号", "子订单编号", "order")),
    "buyer_id": ("买家", ("buyer_id", "买家ID", "买家昵称", "买家会员名", "买家", "用户昵称", "用户ID", "buyer")),
    "shop": ("店铺", ("shop", "店铺", "店铺名称", "店铺名", "商家")),
    "platform": ("平台", ("platform", "平台", "渠道")),
    "created_at": ("下单时间", ("created_at", "下单时间", "创建时间", "订单创建时间", "拍下时间", "提交时间")),
    "paid_at": ("付款时间", ("paid_at", "付款时间", "支付时间", "订单付款时间", "支付完成时间")),
    "amount": ("实付金额", ("amount", "实付金额", "买家实付金额", "订单金额", "应付金额", "支付金额", "商品金额")),
    "items": ("商品数量", ("items", "商品数量", "购买数量", "宝贝数量", "数量", "件数")),
    "status": ("订单状态", ("status", "订单状态", "交易状态", "状态")),
}
ORDER_REQUIRED = ("order_id", "buyer_id", "created_at", "amount")

REFUND_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "order_id": ("订单号", ("order_id", "订单号", "订单编号", "主订单编号", "子订单编号", "order")),
    "reason": ("退款原因", ("reason", "退款原因", "售后原因", "申请原因", "退货原因")),
    "is_quality": ("是否品质问题", ("is_quality", "是否品质问题", "品质问题", "是否质量问题", "品质退款")),
    "requested_at": ("申请时间", ("requested_at", "申请时间", "退款申请时间", "售后申请时间", "退款创建时间")),
    "finished_at": ("完结时间", ("finished_at", "完结时间", "退款完结时间", "退款完成时间", "售后完结时间",
                                 "完成时间")),
    "status": ("售后状态", ("status", "售后状态", "退款状态", "状态")),
    "dispute": ("是否纠纷", ("dispute", "是否纠纷", "平台介入", "是否平台介入", "纠纷", "小二介入")),
}
REFUND_REQUIRED = ("order_id", "requested_at")

_TRUE = {"是", "1", "true", "y", "yes", "有", "已介入", "介入", "√", "纠纷"}
_FALSE = {"否", "0", "false", "n", "no", "无", "未介入", "", "-", "×"}


def _aliases(fields: Mapping[str, tuple[str, tuple[str, ...]]]) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for name, (_, spellings) in fields.items():
        for rank, spelling in enumerate(spellings):
            out.setdefault(normalize_header(spelling), (name, rank))
    return out


_ORDER_ALIASES = _aliases(ORDER_FIELDS)
_REFUND_ALIASES = _aliases(REFUND_FIELDS)


def _check_mapping(mapping: Mapping[str, str] | None, fields: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw, target in (mapping or {}).items():
        if target not in fields:
            raise ColumnError(f"列映射目标无效：列「{raw}」映射到「{target}」；可用字段: {', '.join(fields)}",
                              f"invalid mapping target {target!r} for column {raw!r}; expected one of: {', '.join(fields)}")
        out[normalize_header(raw)] = target
    return out


def _resolve(cells: list[Any], mapping: dict[str, str], aliases: dict[str, tuple[str, int]]
             ) -> tuple[dict[str, int], list[str]]:
    best: dict[str, tuple[int, int]] = {}
    for index, cell in enumerate(cells):
        key = normalize_header(cell)
        if not key:
            continue
        if key in mapping:
            name, rank = mapping[key], -1
        elif key in aliases:
            name, rank = aliases[key]
        else:
            continue
        if name not in best or rank < best[name][0]:
            best[name] = (rank, index)
    columns = {name: index for name, (_, index) in best.items()}
    used = set(columns.values())
    ignored = [str(cells[i]) for i in range(len(cells)) if i not in used and normalize_header(cells[i])]
    return columns, ignored


class _Kind:
    def __init__(self, label_zh: str, label_en: str, fields: Mapping[str, tuple[str, tuple[str, ...]]],
                 required: tuple[str, ...], aliases: dict[str, tuple[str, int]]) -> None:
        self.label_zh, self.label_en, self.fields, self.required, self.aliases = (
            label_zh, label_en, fields, required, aliases)


_ORDERS = _Kind("订单", "order", ORDER_FIELDS, ORDER_REQUIRED, _ORDER_ALIASES)
_REFUNDS = _Kind("售后", "after-sales", REFUND_FIELDS, REFUND_REQUIRED, _REFUND_ALIASES)


def _bad(field: str, kind: _Kind, zh: str, en: str) -> CellError:
    """'下单时间（created_at）为空 created_at: missing' — the field named in both languages."""
    return CellError(f"{kind.fields[field][0]}（{field}）{zh} {field}: {en}")


def _time(value: object, field: str, kind: _Kind, *, required: bool) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _bad(field, kind, "为空", "missing")
        return None
    try:
        return parse_time(value, "order_time")
    except CellError:
        raise _bad(field, kind, f"不是时间「{cell_text(value)[:40]}」",
                   f"not a time {cell_text(value)[:40]!r}") from None


def _number(value: object, field: str, kind: _Kind, *, integer: bool) -> float:
    text = cell_text(value).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").replace("件", "")
    try:
        number = float(text)
    except ValueError:
        raise _bad(field, kind, f"不是数字「{cell_text(value)[:40]}」",
                   f"not a number {cell_text(value)[:40]!r}") from None
    if number < 0 or number != number or (integer and not number.is_integer()):
        raise _bad(field, kind, f"数值无效「{cell_text(value)[:40]}」",
                   f"invalid value {cell_text(value)[:40]!r}")
    return number


def _flag(value: object, field: str, kind: _Kind) -> bool:
    if isinstance(value, bool):
        return value
    key = cell_text(value).lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _bad(field, kind, f"不是是/否「{cell_text(value)[:40]}」", f"not yes/no {cell_text(value)[:40]!r}")


def _build(kind: _Kind, get: Callable[[str], Any], platform: str | None, shop: str | None, source: str
           ) -> Order | Refund:
    def text(name: str) -> str:
        return cell_text(get(name))

    order_id = text("order_id")
    if not order_id:
        raise _bad("order_id", kind, "为空", "missing")
    if kind is _ORDERS:
        buyer = text("buyer_id")
        if not buyer:
            raise _bad("buyer_id", kind, "为空", "missing")
        shop_name = text("shop") or (shop or "")
        if not shop_name:
            raise _bad("shop", kind, "为空（可用 --shop 指定默认值）", "missing (give a default with --shop)")
        raw_platform = text("platform")
        try:
            plat = canonical_platform(raw_platform) if raw_platform else platform
        except ValueError:
            raise _bad("platform", kind, f"未知「{raw_platform[:40]}」", f"unknown {raw_platform[:40]!r}") from None
        if not plat:
            raise _bad("platform", kind, "为空（可用 --platform 指定默认值）", "missing (give a default with --platform)")
        items = get("items")
        return Order(  # the few distinct shop/status texts shared, not one copy per order
            order_id=order_id, buyer_id=buyer, shop=sys.intern(shop_name), platform=plat,
            created_at=_time(get("created_at"), "created_at", kind, required=True),
            paid_at=_time(get("paid_at"), "paid_at", kind, required=False),
            amount=_number(get("amount"), "amount", kind, integer=False),
            items=1 if not cell_text(items) else int(_number(items, "items", kind, integer=True)),
            status=sys.intern(text("status")), source=source,
        )
    return Refund(
        order_id=order_id, reason=text("reason"), is_quality=_flag(get("is_quality"), "is_quality", kind),
        requested_at=_time(get("requested_at"), "requested_at", kind, required=True),
        finished_at=_time(get("finished_at"), "finished_at", kind, required=False),
        status=sys.intern(text("status")), dispute=_flag(get("dispute"), "dispute", kind), source=source,
    )


def _csv_rows(path: Path, encoding: str | None, fstats: FileStats) -> Iterator[tuple[str, int, list[Any]]]:
    fh, codec = _open_text(path, encoding, fstats)
    with io.TextIOWrapper(fh, codec, errors="replace", newline="") as text:
        first = text.readline()
        delimiter = _choose_delimiter(path, first)
        reader = csv.reader(chain([first], text), delimiter=delimiter)
        start = 1
        for row in reader:
            yield "", start, [c.lstrip("\ufeff") if i == 0 else c for i, c in enumerate(row)]
            start = reader.line_num + 1


def _xlsx_rows(path: Path, fstats: FileStats) -> Iterator[tuple[str, int, list[Any]]]:
    """Every sheet's rows, in order (a workbook may open with a notes sheet before the data)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ColumnError(f"{path}: 不是有效的 Excel 工作簿（{type(exc).__name__}）",
                          f"not a valid .xlsx workbook ({type(exc).__name__})") from None
    fstats.encoding = "xlsx"
    try:
        for ws in wb.worksheets:
            ws.reset_dimensions()
            for line, row in enumerate(ws.iter_rows(values_only=True), 1):
                yield ws.title, line, list(row)
    finally:
        wb.close()


def _read_file(path: Path, kind: _Kind, mapping: dict[str, str], platform: str | None, shop: str | None,
               encoding: str | None, fstats: FileStats, reject: _Rejects, lang: str | None,
               out: list[Any], seen: set[Any]) -> None:
    fmt = detect_format(path)
    fstats.format = fmt
    if fmt not in ("csv", "xlsx"):
        raise ColumnError(f"{path}: 只支持 CSV/TSV/XLSX 的{kind.label_zh}导出", f"only CSV/TSV/XLSX {kind.label_en} exports")
    rows = _xlsx_rows(path, fstats) if fmt == "xlsx" else _csv_rows(path, encoding, fstats)
    header: dict[str, int] | None = None
    found = False  # some sheet had a header
    scanned = 0
    first_missing: list[str] = []
    current: str | None = None
    hopeless: str | None = None
    for sheet, line, cells in rows:
        if sheet == hopeless:
            continue
        if sheet != current:  # a new sheet: find its own header; a sheet without one is skipped
            if current is not None and header is None:
                fstats.skipped_sheets.append(current)
            current, header, scanned = sheet, None, 0
        if _is_blank(cells):
            fstats.blank += 1
            continue
        if header is None:
            columns, ignored = _resolve(cells, mapping, kind.aliases)
            missing = [f for f in kind.required if f not in columns]
            if not missing:
                header, fstats.ignored_columns, found = columns, ignored, True
                fstats.preamble += scanned
                continue
            first_missing = first_missing or missing
            scanned += 1
            if scanned >= HEADER_SCAN_ROWS:
                if fmt == "csv":
                    break
                hopeless = sheet  # no header near its top: the rest of this sheet is not read
            continue
        fstats.read += 1
        raw = _raw_cells(cells)

        def get(name: str, cells: list[Any] = cells, header: dict[str, int] = header) -> Any:
            index = header.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        try:
            record = _build(kind, get, platform, shop, f"{path}:{sheet + ':' if sheet else ''}{line}")
        except (CellError, ValueError) as exc:
            reject(line, reason_in(str(exc), lang), raw, sheet)
            continue
        fstats.parsed += 1
        key = record.order_id if kind is _ORDERS else (record.order_id, record.requested_at, record.reason)
        if key in seen:
            fstats.duplicates += 1
            continue
        seen.add(key)
        out.append(record)
    if current is not None and header is None and found:
        fstats.skipped_sheets.append(current)
    if not found:
        names = "、".join(f"{kind.fields[f][0]}({f})" for f in (first_missing or kind.required))
        raise ColumnError(f"{path}: 找不到{kind.label_zh}表头，缺少必需列 {names}；可用 --map 指定列名对应关系",
                          f"no {kind.label_en} header with the required columns "
                          f"({', '.join(first_missing or kind.required)}); map your column names with --map")


def _import(paths: Iterable[str | os.PathLike[str]], kind: _Kind, *, platform: str | None, shop: str | None,
            mapping: Mapping[str, str] | None, encoding: str | None,
            rejects: Callable[[Reject], None] | str | os.PathLike[str] | None, lang: str | None
            ) -> tuple[list[Any], ImportStats]:
    checked = _check_mapping(mapping, kind.fields)
    plat = canonical_platform(platform)
    stats = ImportStats()
    out: list[Any] = []
    seen: set[Any] = set()
    writer = RejectsWriter(rejects, lang=lang) if isinstance(rejects, str | os.PathLike) else None
    sink = writer if writer is not None else rejects
    errors: list[ColumnError] = []
    try:
        for p in paths:
            path = Path(p)
            if not path.is_file():
                raise ColumnError(f"{path}: 文件不存在", "file not found")
            fstats = stats.add_file(path)
            reject = _Rejects(str(path), fstats, sink)  # type: ignore[arg-type]
            try:
                _read_file(path, kind, checked, plat, shop, encoding, fstats, reject, lang, out, seen)
            except ColumnError as exc:
                errors.append(exc)
                fstats.status, fstats.error, fstats.error_en = "unreadable", exc.zh, exc.en
                fstats.read, fstats.parsed, fstats.duplicates, fstats.rejected = 1, 0, 0, 0
                fstats.reasons.clear()
                reject(0, exc.en if lang == "en" else (exc.zh if lang == "zh" else str(exc)), "")
        stats.finished = True
    finally:
        if writer is not None:
            writer.close()
    if errors and len(errors) == len(stats.files):
        raise errors[0]
    return out, stats


def read_orders(paths: Iterable[str | os.PathLike[str]], *, platform: str | None = None, shop: str | None = None,
                mapping: Mapping[str, str] | None = None, encoding: str | None = None,
                rejects: Callable[[Reject], None] | str | os.PathLike[str] | None = None,
                lang: str | None = None) -> tuple[list[Order], ImportStats]:
    """Read order exports. A repeated order id is a duplicate (the first row wins).

    `platform`/`shop` are defaults for files without those columns; `lang` ('zh'/'en') keeps one
    language of each reject reason (default both).
    """
    return _import(paths, _ORDERS, platform=platform, shop=shop, mapping=mapping, encoding=encoding,
                   rejects=rejects, lang=lang)


def read_refunds(paths: Iterable[str | os.PathLike[str]], *, mapping: Mapping[str, str] | None = None,
                 encoding: str | None = None, rejects: Callable[[Reject], None] | str | os.PathLike[str] | None = None,
                 lang: str | None = None) -> tuple[list[Refund], ImportStats]:
    """Read after-sales / refund exports. The same order, request time and reason twice is a duplicate."""
    return _import(paths, _REFUNDS, platform=None, shop=None, mapping=mapping, encoding=encoding,
                   rejects=rejects, lang=lang)
