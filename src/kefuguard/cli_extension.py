"""Command line for the browser extension: `kefuguard extension pack|path`.

The extension (Manifest V3, plain JavaScript, `docs/extension.md`) is not Python package data: its one
copy lives in `extension/` at the root of the source tree, next to its lint setup. `pack` finds it
there (an editable install or a checkout), or where `--source` / `$KEFUGUARD_EXTENSION_DIR` points,
and writes a zip of the files the browser loads — byte for byte the same for the same sources.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Annotated

import typer

extension_app = typer.Typer(help="浏览器扩展（发送前检查）：打包、查看源码目录。", no_args_is_help=True)

# what the browser loads; everything else in extension/ (lint tooling, node_modules) stays out
PACKED_SUFFIXES = {".js", ".html", ".css", ".png", ".svg", ".json"}
NOT_PACKED = {"package.json", "package-lock.json", "eslint.config.js"}
SKIPPED_DIRS = {"node_modules", "dist", "tests"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_REMOTE_SCRIPT = re.compile(r"<script[^>]+src\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)
_REMOTE_IMPORT = re.compile(r"""(\bimport\b[^;'"]*|\bimport\s*\(\s*|importScripts\s*\(\s*)["'](https?:)?//""")


class ExtensionError(Exception):
    """The extension's sources are missing or would not load as packaged code."""


def default_source() -> Path | None:
    """The extension's source folder: $KEFUGUARD_EXTENSION_DIR, else extension/ of the source tree."""
    env = os.environ.get("KEFUGUARD_EXTENSION_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[2] / "extension", Path.cwd() / "extension"]
    for folder in candidates:
        if (folder / "manifest.json").is_file():
            return folder.resolve()
    return None


def packed_files(source: Path) -> list[Path]:
    """The files of the zip, relative to the source folder, sorted."""
    out = []
    for folder, dirs, files in os.walk(source):
        # never descend into node_modules (npm may be rewriting it meanwhile) or hidden folders
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS]
        for name in files:
            rel = (Path(folder) / name).relative_to(source)
            suffix = rel.suffix.lower()
            if name.startswith(".") or suffix not in PACKED_SUFFIXES or name in NOT_PACKED:
                continue
            if suffix == ".json" and rel.as_posix() != "manifest.json" and rel.parts[0] != "_locales":
                continue
            out.append(rel)
    return sorted(out, key=lambda p: p.as_posix())


def check_sources(source: Path) -> dict:
    """The manifest, after checking it is MV3, that its files exist and that no code is fetched remotely."""
    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExtensionError(f"manifest.json 无法读取或不是 JSON: {exc}") from exc
    if manifest.get("manifest_version") != 3:
        raise ExtensionError("manifest.json 须为 Manifest V3（manifest_version: 3）")
    referenced = [manifest.get("background", {}).get("service_worker"), manifest.get("options_ui", {}).get("page")]
    for name in filter(None, referenced):
        if not (source / name).is_file():
            raise ExtensionError(f"manifest.json 引用的文件不存在: {name}")
    for rel in packed_files(source):
        if rel.suffix not in (".js", ".html"):
            continue
        text = (source / rel).read_text(encoding="utf-8")
        pattern = _REMOTE_SCRIPT if rel.suffix == ".html" else _REMOTE_IMPORT
        if pattern.search(text):
            raise ExtensionError(f"{rel.as_posix()} 加载远程代码；扩展须自带全部代码（不用 CDN）")
    return manifest


def build_zip(source: Path, out_dir: Path) -> Path:
    """Writes kefuguard-extension-<version>.zip into out_dir; the same sources give the same bytes."""
    manifest = check_sources(source)
    version = str(manifest.get("version", "0"))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"kefuguard-extension-{version}.zip"
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for rel in packed_files(source):
            info = zipfile.ZipInfo(rel.as_posix(), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, (source / rel).read_bytes())
    partial.replace(target)
    return target


def _source(source: Path | None) -> Path:
    folder = source.resolve() if source is not None else default_source()
    if folder is None or not (folder / "manifest.json").is_file():
        shown = str(source) if source is not None else "extension/"
        typer.echo(f"错误: 找不到扩展源码（{shown} 下没有 manifest.json）。请在源码仓库中运行，或用 --source / "
                   "KEFUGUARD_EXTENSION_DIR 指定 extension/ 目录", err=True)
        raise typer.Exit(2)
    return folder


SourceOpt = Annotated[
    Path | None,
    typer.Option("--source", help="扩展源码目录（默认：源码仓库的 extension/，或 $KEFUGUARD_EXTENSION_DIR）",
                 show_default=False),
]


@extension_app.command("pack")
def pack(
    out: Annotated[Path, typer.Option("--out", "-o", help="zip 输出目录")] = Path("dist"),
    source: SourceOpt = None,
) -> None:
    """打包浏览器扩展为 zip（Chrome / Edge / 360 / QQ 浏览器，Manifest V3）。"""
    folder = _source(source)
    try:
        target = build_zip(folder, out)
    except ExtensionError as exc:
        typer.echo(f"错误: {exc}", err=True)
        raise typer.Exit(2) from exc
    with zipfile.ZipFile(target) as zf:
        count = len(zf.namelist())
    typer.echo(f"已打包 {count} 个文件: {target.resolve()}")
    typer.echo(f"未打包安装：在 chrome://extensions 打开“开发者模式”，“加载已解压的扩展程序”，选择 {folder}")


@extension_app.command("path")
def path(source: SourceOpt = None) -> None:
    """显示扩展源码目录（“加载已解压的扩展程序”时选择它）。"""
    typer.echo(str(_source(source)))


def add_extension_commands(app: typer.Typer) -> None:
    """Register `extension pack|path` on the main CLI (cli.py calls this)."""
    app.add_typer(extension_app, name="extension")
