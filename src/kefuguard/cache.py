"""Compiled checkers cached on disk, so a command-line check skips the ~1 s build.

A checker is pickled (its automata are rebuilt from their pattern lists on load, ~40 ms) under a
key made of everything that could change it: kefuguard's own source and data files (path, size,
modification time), the versions of the libraries that shape normalisation and matching, Python's
version, the platform, and every rule pack that applies (bundled, `--rules-dir`,
$KEFUGUARD_RULES_DIR). Any change gives a new key, so a stale checker is never used. The translate tables, the same for every
platform, are stored once beside the checkers.

Where: $KEFUGUARD_CACHE_DIR, else $XDG_CACHE_HOME/kefuguard, else ~/.cache/kefuguard.
KEFUGUARD_CACHE=0 turns caching off. A cache that cannot be read or written is ignored: the
checker is built as usual. The cache is the user's own directory: like any pickle it must not be
writable by others.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from kefuguard.checker import Checker, adopt_shared_tables, shared_tables
from kefuguard.rules.loader import check_platform, pack_files

CACHE_DIR_ENV = "KEFUGUARD_CACHE_DIR"
CACHE_SWITCH_ENV = "KEFUGUARD_CACHE"
_LIBRARIES = ("ahocorasick-rs", "opencc", "pypinyin", "phonenumbers", "python-stdnum", "rjieba", "pydantic", "pyyaml")
_PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """The cache directory in force, or None when caching is switched off."""
    if os.environ.get(CACHE_SWITCH_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kefuguard"


def _stamp(path: Path) -> bytes:
    """A file's identity for the key: path, size and modification time (a stat, no read)."""
    st = path.stat()
    return f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()


def _library_versions() -> list[str]:
    """The installed versions of the libraries in _LIBRARIES, read off their .dist-info folder
    names (importlib.metadata costs 15 ms to import; a directory listing costs nothing)."""
    wanted = {name.replace("-", "_").lower() for name in _LIBRARIES}
    found = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and name.split("-", 1)[0].lower() in wanted:
                found.append(name)
    return sorted(found)


@cache
def code_fingerprint() -> str:
    """A digest of kefuguard's code and data files and of the libraries' and Python's versions."""
    digest = hashlib.sha256(sys.version.encode())
    for name in _library_versions():
        digest.update(name.encode())
    files = sorted(p for p in _PACKAGE.rglob("*") if p.suffix in (".py", ".yaml", ".txt") and "__pycache__" not in p.parts)
    for path in files:
        digest.update(_stamp(path))
    return digest.hexdigest()[:20]


def checker_key(platform: str, extra_pack_dirs: Sequence[Path | str] = ()) -> str:
    """The cache key of one platform's checker with the rule packs found now."""
    digest = hashlib.sha256(f"{code_fingerprint()}|{platform}".encode())
    for path in pack_files(extra_pack_dirs):
        digest.update(_stamp(path.resolve()))
    return digest.hexdigest()[:24]


def _read(path: Path):
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated, from another version: build instead
        return None


def _write(path: Path, obj) -> None:
    """Write atomically (a temporary file renamed into place): concurrent processes never see
    half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        return


def _prune(directory: Path, keep: str) -> None:
    """Remove cache files left by other versions of the code."""
    try:
        for path in directory.glob("*.pickle"):
            if keep not in path.name:
                path.unlink(missing_ok=True)
    except OSError:
        return


def cached_checker(platform: str, extra_pack_dirs: Sequence[Path | str] = ()) -> Checker:
    """The platform's checker from the disk cache, or built (and stored) when there is none."""
    platform = check_platform(platform)
    directory = cache_dir()
    if directory is None:
        return Checker(platform, extra_pack_dirs=extra_pack_dirs)
    fingerprint = code_fingerprint()
    key = checker_key(platform, extra_pack_dirs)
    tables_path = directory / f"tables-{fingerprint}.pickle"
    checker_path = directory / f"checker-{platform}-{fingerprint}-{key}.pickle"
    if checker_path.is_file():
        tables = _read(tables_path)
        if tables is not None:
            adopt_shared_tables(tables)
            checker = _read(checker_path)
            if isinstance(checker, Checker):
                return checker
    checker = Checker(platform, extra_pack_dirs=extra_pack_dirs)
    _prune(directory, fingerprint)
    if not tables_path.is_file():
        _write(tables_path, shared_tables())
    _write(checker_path, checker)
    return checker
