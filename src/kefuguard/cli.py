"""Command line: `kefuguard check|rewrite|rules|audit|demo|calc`. An adapter around the pure engine.

Errors are one clear line on stderr and a non-zero exit; output is Chinese where people read it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kefuguard.cli_assist import add_assist_commands, add_tone
from kefuguard.cli_calc import calc_app
from kefuguard.cli_extension import add_extension_commands
from kefuguard.cli_kpi import add_kpi_commands
from kefuguard.cli_server import add_server_commands
from kefuguard.findings import CheckResult
from kefuguard.rules.loader import RulePackError, check_platform, load_packs
from kefuguard.rules.model import CATEGORY_ZH, PLATFORM_NAMES_ZH, PLATFORMS, SEVERITY_ZH

app = typer.Typer(
    name="kefuguard",
    help="kefuguard 客服质检：消息合规检查、规则包、聊天记录审计。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="规则包：列出、查看、自测、导出文档。", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

console = Console()
err_console = Console(stderr=True)

SEVERITY_STYLE = {"critical": "bold white on red", "major": "bold red", "minor": "yellow", "info": "cyan"}
PlatformOpt = Annotated[str, typer.Option("--platform", "-p", help=f"平台: {', '.join(PLATFORMS)}")]
RulesDirOpt = Annotated[
    list[Path] | None, typer.Option("--rules-dir", help="额外的规则包目录（店铺自定义违禁词等）", show_default=False)
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line and return the Exit to raise."""
    err_console.print(f"[bold red]错误:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _platform(value: str) -> str:
    try:
        return check_platform(value)
    except ValueError as exc:
        raise fail(f"未知平台 {value!r}，可选: {', '.join(PLATFORMS)}") from exc


def _decode(data: bytes, origin: str) -> str:
    if b"\x00" in data:
        raise fail(f"{origin} 是二进制数据，不是文本")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise fail(f"{origin} 无法按 UTF-8 或 GB18030 解码")


def _read_messages(text: str | None, file: Path | None) -> list[str]:
    if text is not None and file is not None:
        raise fail("请只给出文本或 --file 之一")
    if text is not None:
        messages = [text]
    else:
        if file is not None:
            if str(file) == "-":
                data, origin = sys.stdin.buffer.read(), "标准输入"
            elif not file.is_file():
                raise fail(f"文件不存在: {file}")
            else:
                data, origin = file.read_bytes(), str(file)
        elif not sys.stdin.isatty():
            data, origin = sys.stdin.buffer.read(), "标准输入"
        else:
            raise fail("没有输入：请给出要检查的文本，或用 --file 指定文件（每行一条消息）")
        messages = [ln for ln in _decode(data, origin).splitlines() if ln.strip()]
    if not any(m.strip() for m in messages):
        raise fail("输入为空")
    return messages


def _checker(platform: str, rules_dir: list[Path] | None):
    from kefuguard.cache import cached_checker

    try:
        return cached_checker(platform, rules_dir or ())
    except RulePackError as exc:
        raise fail(str(exc)) from exc


ShopSettingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--shop-settings",
        help="店铺设置文件（YAML/JSON）：店铺禁用词、允许短语、停用规则、调整严重度、规则例外、遮蔽字符",
        show_default=False,
    ),
]
PlatformOrShopOpt = Annotated[
    str | None,
    typer.Option("--platform", "-p", help=f"平台: {', '.join(PLATFORMS)}（默认 pinduoduo，或店铺设置中的平台）",
                 show_default=False),
]


def _load_shop(path: Path | None, platform: str | None, rules_dir: list[Path] | None):
    """(platform, checker): the platform checker, wrapped in the shop's overlay when a file is given."""
    if path is None:
        name = _platform(platform or "pinduoduo")
        return name, _checker(name, rules_dir)
    from kefuguard.shop import ShopChecker, ShopSettings, ShopSettingsError

    if not path.is_file():
        raise fail(f"店铺设置文件不存在: {path}")
    try:
        settings = ShopSettings.from_file(path)
    except ShopSettingsError as exc:
        raise fail(f"店铺设置无效: {exc}") from exc
    if platform is not None and _platform(platform) != settings.platform:
        raise fail(f"店铺设置的平台 {settings.platform} 与 --platform {_platform(platform)} 不一致")
    base = _checker(settings.platform, rules_dir)
    try:
        shop = ShopChecker(settings, base, by=f"cli:{path}")
    except ShopSettingsError as exc:
        raise fail(f"店铺设置无效: {path}: {exc}") from exc
    return settings.platform, shop


def highlighted(result: CheckResult) -> Text:
    """The message with every flagged span coloured by severity."""
    text = Text(result.text)
    for f in result.findings:
        text.stylize(SEVERITY_STYLE[f.severity.value], f.start, f.end)
    return text


def findings_table(result: CheckResult) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for col in ("严重度", "规则", "类别", "命中", "位置", "处罚", "建议"):
        table.add_column(col, overflow="fold", no_wrap=col == "规则")
    for f in result.findings:
        sev = SEVERITY_ZH[f.severity.value] + ("(拒绝语境)" if f.refusal else "")
        table.add_row(
            Text(sev, style=SEVERITY_STYLE[f.severity.value]),
            f"{f.rule_id}\n{f.title}" + "".join(f" #{t}" for t in f.tags),
            CATEGORY_ZH[f.category.value],
            f.matched,
            f"{f.start}-{f.end}",
            f.penalty.text,
            f.suggestion,
        )
    return table


def print_result(result: CheckResult) -> None:
    console.print(highlighted(result))
    if result.ok:
        console.print("[green]✓ 未发现违规[/]")
    else:
        console.print(findings_table(result))


@app.command()
def check(
    text: Annotated[str | None, typer.Argument(help="要检查的消息；省略时读 --file 或标准输入（每行一条）")] = None,
    platform: PlatformOrShopOpt = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="每行一条消息的文本文件；- 表示标准输入")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（多条消息时每行一个 JSON）")] = False,
    rules_dir: RulesDirOpt = None,
    shop_settings: ShopSettingsOpt = None,
    semantic: Annotated[
        bool, typer.Option("--semantic", help="同时用语义模型检查语气（高冷、质问、推诿…；需安装 kefuguard[semantic]）")
    ] = False,
) -> None:
    """检查消息是否违反平台规则（导流、辱骂、极限词、违背承诺…）。发现违规时退出码为 1。"""
    if shop_settings is None:
        platform = _platform(platform or "pinduoduo")
    messages = _read_messages(text, file)
    platform, checker = _load_shop(shop_settings, platform, rules_dir)
    results = [checker.check(m) for m in messages]
    if semantic:
        results = add_tone(results)
    if as_json:
        for r in results:
            sys.stdout.write(r.to_json() + "\n")
    else:
        for r in results:
            print_result(r)
        if len(results) > 1:
            flagged = sum(1 for r in results if not r.ok)
            console.print(f"共 {len(results)} 条，{flagged} 条有违规")
    raise typer.Exit(1 if any(not r.ok for r in results) else 0)


@app.command()
def rewrite(
    text: Annotated[str, typer.Argument(help="要改写的消息")],
    platform: PlatformOrShopOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    rules_dir: RulesDirOpt = None,
    shop_settings: ShopSettingsOpt = None,
    mask_char: Annotated[
        str | None, typer.Option("--mask-char", help="遮蔽字符（默认 *，或店铺设置中的 mask_char）", show_default=False)
    ] = None,
) -> None:
    """给出合规改写：遮蔽手机号等个人信息，替换违规词，并列出无法自动修复的问题。"""
    from kefuguard.rewrite import rewrite as do_rewrite

    if shop_settings is None:
        platform = _platform(platform or "pinduoduo")
    if not text.strip():
        raise fail("输入为空")
    platform, checker = _load_shop(shop_settings, platform, rules_dir)
    try:
        if shop_settings is not None and mask_char is None:
            result = checker.rewrite(text)
        elif shop_settings is not None:
            result = do_rewrite(text, platform, checker=checker, mask_char=mask_char)
        else:
            result = do_rewrite(text, platform, checker=checker, mask_char=mask_char or "*")
    except ValueError as exc:
        raise fail(f"--mask-char 无效（须为一个非字母数字的符号，如 * 或 ×）: {exc}") from exc
    if as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
    else:
        console.print(Text("原文: ") + Text(text))
        console.print(Text("改写: ", style="bold") + Text(result.text, style="green"))
        for f in result.unfixed:
            console.print(f"[yellow]未能自动修复[/] {f.rule_id} 「{f.matched}」→ 建议: {f.suggestion}")
    raise typer.Exit(0 if result.complete else 1)


def _selected_rules(platform: str | None, rules_dir: list[Path] | None):
    try:
        packs = load_packs(rules_dir or ())
    except RulePackError as exc:
        raise fail(str(exc)) from exc
    if platform:
        from kefuguard.checker import Checker

        checker = Checker(_platform(platform), packs=packs)
        return packs, checker.rules
    return packs, None


@rules_app.command("list")
def rules_list(
    platform: Annotated[str | None, typer.Option("--platform", "-p", help="只列出某平台适用的规则（含平台处罚）")] = None,
    rules_dir: RulesDirOpt = None,
) -> None:
    """列出规则：编号、类别、严重度、处罚。"""
    packs, compiled = _selected_rules(platform, rules_dir)
    table = Table(title=f"规则列表 {PLATFORM_NAMES_ZH.get(platform or '', '全部平台')}", header_style="bold")
    for col in ("规则", "标题", "类别", "严重度", "处罚", "适用平台"):
        table.add_column(col, overflow="fold", no_wrap=col == "规则")
    if compiled is not None:
        rows = [(c.rule, c.title, c.severity, c.penalty, [platform]) for c in compiled]
    else:
        rows = [(r, r.title, r.severity, r.penalty, p.platforms_of(r)) for p in packs for r in p.rules]
    for rule, title, severity, penalty, plats in rows:
        table.add_row(
            rule.id,
            title,
            CATEGORY_ZH[rule.category.value],
            Text(SEVERITY_ZH[severity.value], style=SEVERITY_STYLE[severity.value]),
            penalty.text,
            ",".join(plats) if len(plats) < len(PLATFORMS) else "全部",
        )
    console.print(table)
    labels = sorted({c.pack_label for c in compiled}) if compiled is not None else [p.label for p in packs]
    console.print(f"共 {len(rows)} 条规则；规则包: {', '.join(labels)}")


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str, typer.Argument(help="规则编号，如 common.diversion.wechat")],
    rules_dir: RulesDirOpt = None,
) -> None:
    """查看一条规则的全部信息：说明、处罚、出处、建议话术、示例。"""
    packs, _ = _selected_rules(None, rules_dir)
    for pack in packs:
        for rule in pack.rules:
            if rule.id == rule_id:
                console.print(f"[bold]{rule.id}[/] {rule.title}  ({pack.label})")
                console.print(f"类别: {CATEGORY_ZH[rule.category.value]}  严重度: {SEVERITY_ZH[rule.severity.value]}")
                console.print(f"适用平台: {', '.join(pack.platforms_of(rule))}")
                console.print(f"说明: {rule.explanation}")
                console.print(f"处罚: {rule.penalty.text}")
                console.print(f"出处: {rule.source.file} 「{rule.source.quote}」")
                console.print(f"建议: {rule.suggestion}")
                console.print("违规示例: " + " | ".join(rule.examples.hit))
                console.print("合规示例: " + " | ".join(rule.examples.miss))
                for other in packs:
                    for ov in other.overrides:
                        if ov.rule == rule_id:
                            text = ov.penalty.text if ov.penalty else "(处罚同上)"
                            console.print(f"[cyan]{other.pack.id} 平台调整[/]: {text}")
                return
    raise fail(f"没有规则 {rule_id!r}")


@rules_app.command("test")
def rules_test(
    platform: Annotated[str | None, typer.Option("--platform", "-p", help="只测某平台")] = None,
    rules_dir: RulesDirOpt = None,
) -> None:
    """运行每条规则自带的 hit/miss 示例（含自定义规则包），报告失败项。"""
    from kefuguard.checker import Checker

    try:
        packs = load_packs(rules_dir or ())
    except RulePackError as exc:
        raise fail(str(exc)) from exc
    platforms = [_platform(platform)] if platform else list(PLATFORMS)
    failures, total = [], 0
    for plat in platforms:
        checker = Checker(plat, packs=packs)
        for cr in checker.rules:
            for sentence in cr.rule.examples.hit:
                total += 1
                if cr.id not in {f.rule_id for f in checker.check(sentence).findings}:
                    failures.append(f"[{plat}] {cr.id} 未命中: {sentence}")
            for sentence in cr.rule.examples.miss:
                total += 1
                if cr.id in {f.rule_id for f in checker.check(sentence).findings}:
                    failures.append(f"[{plat}] {cr.id} 误报: {sentence}")
    for line in failures:
        console.print(f"[red]✗[/] {line}", highlight=False)
    console.print(f"{total - len(failures)} passed, {len(failures)} failed")
    raise typer.Exit(1 if failures else 0)


@rules_app.command("export")
def rules_export(
    fmt: Annotated[str, typer.Option("--format", help="导出格式：md 或 json")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="写入文件（默认标准输出）")] = None,
    check_file: Annotated[
        Path | None, typer.Option("--check", help="不写入，只检查该文件是否与生成结果一致（CI 用）")
    ] = None,
) -> None:
    """导出规则文档（docs/rules.md 由此生成，CI 检查是否一致）。"""
    from kefuguard.rules.docs import render_json, render_markdown

    try:
        packs = load_packs()
    except RulePackError as exc:
        raise fail(str(exc)) from exc
    if fmt not in ("md", "json"):
        raise fail(f"不支持的格式 {fmt!r}：可选 md、json")
    content = render_markdown(packs) if fmt == "md" else render_json(packs)
    if check_file is not None:
        current = check_file.read_text(encoding="utf-8") if check_file.is_file() else ""
        if current != content:
            raise fail(f"{check_file} 与规则包不一致：请运行 `make docs` 重新生成并提交", code=1)
        console.print(f"{check_file} 与规则包一致")
        return
    if output is None:
        sys.stdout.write(content)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(content, encoding="utf-8")
        console.print(f"已写入 {output}")


_MESSAGES = {
    "error": ("错误", "error"),
    "warning": ("警告", "warning"),
    "bad_formats": ("不支持的报告格式: {names}（可选 html,json,xlsx）",
                    "unsupported report formats: {names} (choose from html,json,xlsx)"),
    "bad_lang": ("--lang 只能是 zh 或 en，得到 {value!r}", "--lang must be zh or en, got {value!r}"),
    "no_mask": ("已用 --no-mask 关闭个人信息遮蔽：报告、findings.csv 和 rejects.csv 含买家手机号、证件号和地址原文，请勿外传",
                "--no-mask: personal data is NOT masked; reports, findings.csv and rejects.csv hold buyers' phone "
                "numbers, ID numbers and addresses as written; do not share them"),
    "unreadable": ("无法读取，已列入拒收明细（第 0 行）: {path}: {why}",
                   "unreadable, listed in the rejects (line 0): {path}: {why}"),
    "skipped": ("已跳过: {path}: {why}", "skipped: {path}: {why}"),
    "empty": ("空文件: {path}", "empty file: {path}"),
    "nothing": ("没有可审计的消息（输入文件为空或都被跳过）；仍写出空报告", "no messages to audit (empty or skipped inputs); "
                "empty reports written anyway"),
    "progress": ("读取并审计聊天记录", "reading and auditing chat logs"),
    "written": ("报告已写入:", "reports written:"),
}


def _msg(key: str, language: str, **values: object) -> str:
    zh, en = _MESSAGES[key]
    return (en if language == "en" else zh).format(**values)


def _fail_lang(message: str, lang: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]{_msg('error', lang)}:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _warn(message: str, lang: str) -> None:
    err_console.print(f"[bold yellow]{_msg('warning', lang)}:[/] {message}", highlight=False, soft_wrap=True)


def _exc_text(exc: BaseException, lang: str) -> str:
    """The message of an error, in one language when the error carries both."""
    text = getattr(exc, "text", None)
    return text(lang) if callable(text) else str(exc)


def _column_map(items: list[str] | None, lang: str, option: str = "--map") -> dict[str, str]:
    """--map / --order-map / --refund-map items (源列名=字段) as a dict."""
    from kefuguard.io.columns import ColumnError, parse_column_map

    try:
        return parse_column_map(items, option)
    except ColumnError as exc:
        raise _fail_lang(exc.text(lang), lang) from None


def _run_audit_command(paths: list[Path], out: Path, workers: int, platform: str | None, shop: str | None,
                       mapping: list[str] | None, formats: str, *, mask: bool = True, lang: str = "zh",
                       config=None, engine: str = "local", scheduler: str | None = None,
                       parquet: bool = False, orders: list[Path] | None = None, refunds: list[Path] | None = None,
                       order_map: list[str] | None = None, refund_map: list[str] | None = None,
                       attribution: str = "last_manual_24h", window_hours: float | None = None) -> None:
    """Shared by `audit` and `demo`: run the audit with a progress bar, write the reports."""
    import logging

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from kefuguard.audit import PARQUET_FILES, AuditOptions, OutputDirError, prepare_out_dir, run_audit
    from kefuguard.audit_dask import DaskUnavailableError
    from kefuguard.io.importers import ColumnError, InputNotFoundError
    from kefuguard.io.reports import print_summary, write_html, write_json, write_xlsx

    if lang not in ("zh", "en"):
        raise _fail_lang(_msg("bad_lang", "zh", value=lang), "zh")
    column_map, order_columns, refund_columns = (
        _column_map(items, lang, option) for items, option in ((mapping, "--map"), (order_map, "--order-map"),
                                                               (refund_map, "--refund-map")))
    wanted = {f.strip() for f in formats.split(",") if f.strip()}
    unknown = wanted - {"html", "json", "xlsx"}
    if unknown:
        raise _fail_lang(_msg("bad_formats", lang, names=", ".join(sorted(unknown))), lang)
    for path in [*paths, *(orders or []), *(refunds or [])]:
        if not path.exists():
            raise _fail_lang(InputNotFoundError(path).text(lang), lang)
    try:
        prepare_out_dir(out)
    except OutputDirError as exc:
        raise _fail_lang(exc.text(lang), lang) from exc
    if not mask:
        _warn(_msg("no_mask", lang), lang)
        # for whoever collects kefuguard's logs (a NullHandler keeps it off the terminal otherwise)
        logger = logging.getLogger("kefuguard.audit")
        if not logging.getLogger("kefuguard").handlers:
            logging.getLogger("kefuguard").addHandler(logging.NullHandler())
        logger.warning("PII masking switched off by --no-mask; outputs in %s hold unmasked personal data", out)
    options = AuditOptions(out_dir=out, workers=workers, platform=platform, shop=shop, mapping=column_map or None,
                           mask_pii=mask, lang=lang, engine=engine, scheduler=scheduler,
                           parquet=parquet or engine == "dask", orders=list(orders or []),
                           refunds=list(refunds or []), order_mapping=order_columns or None,
                           refund_mapping=refund_columns or None, attribution=attribution,
                           attribution_window_hours=window_hours)
    if config is not None:
        options.config = config
    with Progress(
        TextColumn(f"[bold]{_msg('progress', lang)}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
        console=err_console, transient=False,
    ) as bar:
        task = bar.add_task("audit", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = run_audit(paths, options, progress=progress)
        except (FileNotFoundError, ColumnError, OutputDirError, ValueError, DaskUnavailableError) as exc:
            raise _fail_lang(_exc_text(exc, lang), lang) from exc
        bar.update(task, completed=bar.tasks[0].total or 0)
    for f in report.imports.files:
        status = f.get("status", "ok")
        if status in ("unreadable", "skipped", "empty"):
            why = f.get("error_en" if lang == "en" else "error", "")
            _warn(_msg(status, lang, path=f.get("path", ""), why=why), lang)
    if report.messages == 0 and not report.imports.rejected:
        _warn(_msg("nothing", lang), lang)
    print_summary(report, console)
    written = []
    if "json" in wanted:
        written.append(write_json(report, out / "report.json", mask_pii=mask) or out / "report.json")
    if "html" in wanted:
        written.append(write_html(report, out / "report.html", mask_pii=mask) or out / "report.html")
    if "xlsx" in wanted:
        written.append(write_xlsx(report, out / "report.xlsx", mask_pii=mask) or out / "report.xlsx")
    console.print(f"[bold]{_msg('written', lang)}[/]")
    tables = [out / name for name in PARQUET_FILES] if options.parquet else []
    order_rejects = report.kpis is not None and any(s.rejected for s in report.kpis.imports.values())
    for path in [*written, out / "findings.csv", *tables, *([out / "rejects.csv"] if report.imports.rejected else []),
                 *([out / "order_rejects.csv"] if order_rejects else [])]:
        console.print(f"  {Path(path).resolve()}")


@app.command()
def audit(
    paths: Annotated[list[Path], typer.Argument(help="聊天记录文件或目录（JSONL/CSV/XLSX/Parquet，UTF-8/GBK 自动识别）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="报告输出目录（不能是已存在的文件）")] = Path("reports"),
    workers: Annotated[int, typer.Option("--workers", "-w", help="并行进程数，0 = 全部核心")] = 0,
    platform: Annotated[str | None, typer.Option("--platform", "-p", help="文件中没有平台列时使用")] = None,
    shop: Annotated[str | None, typer.Option("--shop", help="文件中没有店铺列时使用")] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="列名映射 源列名=字段，如 --map 聊天记录=text（可重复）")
    ] = None,
    formats: Annotated[str, typer.Option("--formats", help="报告格式，逗号分隔")] = "html,json,xlsx",
    no_mask: Annotated[
        bool, typer.Option("--no-mask", help="不遮蔽个人信息（手机号、证件号、地址）；默认所有输出都遮蔽，关闭时会打印警告")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="提示与错误信息的语言：zh（默认）或 en")] = "zh",
    audit_config: Annotated[
        Path | None,
        typer.Option(
            "--audit-config", help="审计配置 YAML：各项会话检查的开关与阈值，可按店铺覆盖（checks / shops）", show_default=False
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local：本机多进程（默认）；dask：在 Dask 集群上审计（需 pip install 'kefuguard\\[dask]'）")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask 调度器地址，如 tcp://host:8786（配合 --engine dask；不给则启动本机集群）",
                     show_default=False),
    ] = None,
    parquet: Annotated[
        bool, typer.Option("--parquet", help="另写 findings/scores/metrics/agents.parquet（--engine dask 时总会写）")
    ] = False,
    orders: Annotated[
        list[Path] | None,
        typer.Option("--orders", help="订单导出（CSV/XLSX，可重复）：计算销售指标，按订单时间核查下单后核对", show_default=False),
    ] = None,
    refunds: Annotated[
        list[Path] | None,
        typer.Option("--refunds", help="售后/退款导出（可重复，需配合 --orders）：售后指标，按申请/完结时间核查退款处理",
                     show_default=False),
    ] = None,
    order_map: Annotated[
        list[str] | None, typer.Option("--order-map", help="订单列名映射 源列名=字段（可重复）", show_default=False)
    ] = None,
    refund_map: Annotated[
        list[str] | None, typer.Option("--refund-map", help="售后列名映射 源列名=字段（可重复）", show_default=False)
    ] = None,
    attribution: Annotated[
        str, typer.Option("--attribution", help="订单归属口径：last_manual_24h（默认）或 same_day")
    ] = "last_manual_24h",
    window_hours: Annotated[
        float | None, typer.Option("--window-hours", help="归属回看小时数（覆盖口径）", show_default=False)
    ] = None,
) -> None:
    """审计聊天记录：逐条违规、各平台回复指标、客服评分、罚款/扣分估算；输出 HTML/JSON/XLSX 报告。

    输入可以是 JSONL/CSV/XLSX/Parquet 文件或目录；大文件由各进程分段并行读取。"""
    if engine not in ("local", "dask"):
        zh = f"--engine 只能是 local 或 dask，得到 {engine!r}"
        en = f"--engine must be local or dask, got {engine!r}"
        raise _fail_lang(en if lang == "en" else zh, lang)
    if scheduler and engine != "dask":
        zh, en = "--scheduler 需要配合 --engine dask", "--scheduler needs --engine dask"
        raise _fail_lang(en if lang == "en" else zh, lang)
    if platform:
        try:
            platform = check_platform(platform)
        except ValueError as exc:
            zh = f"未知平台 {platform!r}，可选: {', '.join(PLATFORMS)}"
            en = f"unknown platform {platform!r}; choose from: {', '.join(PLATFORMS)}"
            raise _fail_lang(en if lang == "en" else zh, lang) from exc
    config = None
    if audit_config is not None:
        from kefuguard.conversation.config import AuditConfig

        try:
            config = AuditConfig.from_yaml(audit_config.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise _fail_lang(f"{audit_config}: {exc}" if lang == "en" else f"无法读取审计配置 {audit_config}: {exc}", lang) from exc
        except Exception as exc:  # YAML syntax or a field that fails validation: both name the line or field
            raise _fail_lang(
                f"{audit_config}: invalid audit config: {exc}" if lang == "en" else f"审计配置无效 {audit_config}: {exc}", lang
            ) from exc
    _run_audit_command(paths, out, workers, platform, shop, mapping, formats, mask=not no_mask, lang=lang, config=config,
                       engine=engine, scheduler=scheduler, parquet=parquet, orders=orders, refunds=refunds,
                       order_map=order_map, refund_map=refund_map, attribution=attribution, window_hours=window_hours)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="报告输出目录")] = Path("reports/demo"),
    workers: Annotated[int, typer.Option("--workers", "-w", help="并行进程数，0 = 全部核心")] = 0,
) -> None:
    """用内置示例数据（6 家店铺、3 天、多种文件格式与故意的坏行，附订单与售后导出）跑一遍完整审计与销售指标。"""
    from kefuguard.sample import sample_dir
    from kefuguard.sample.commerce import ORDERS_CSV, ORDERS_XLSX, REFUNDS_CSV, commerce_dir

    data, commerce = sample_dir(), commerce_dir()
    console.print(f"示例数据: {data}；订单与售后导出: {commerce}")
    _run_audit_command([data], out, workers, None, None, None, "html,json,xlsx",
                       orders=[commerce / ORDERS_CSV, commerce / ORDERS_XLSX], refunds=[commerce / REFUNDS_CSV])


app.add_typer(calc_app, name="calc")  # compensation calculators live in their own module
add_server_commands(app)  # serve, keys, db: cli_server.py (imports the server only when run)
add_assist_commands(app)  # scripts search, quiz: cli_assist.py (imports the models only when run)
add_extension_commands(app)  # extension pack|path: cli_extension.py (the browser extension in extension/)
add_kpi_commands(app)  # kpi: cli_kpi.py (sales KPIs from chats + orders; imports io/sales only when run)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

