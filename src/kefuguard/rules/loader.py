"""Find and load rule packs: the bundled ones plus any user packs in configured directories.

A platform's rule set = every pack whose platforms include it (the common pack says `all`).
A malformed pack fails loudly with the file, the rule id and the field, never silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from kefuguard.rules.model import Rule, RulePack, platform_code

USER_PACKS_ENV = "KEFUGUARD_RULES_DIR"


class RulePackError(ValueError):
    """A rule pack could not be read or does not follow the schema."""


def yaml_load(text: str):
    """yaml.safe_load with libyaml's C parser where the wheel has it (ten times faster). PyYAML is
    imported here, not at start-up: a checker loaded from the cache reads no YAML."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def bundled_pack_dir() -> Path:
    return Path(str(resources.files("kefuguard.rules") / "packs"))


def _describe(errors: ValidationError, raw: dict) -> str:
    parts = []
    rules = raw.get("rules") if isinstance(raw, dict) else None
    for err in errors.errors():
        loc = list(err["loc"])
        where = ".".join(str(x) for x in loc)
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(rules, list):
            rule = rules[loc[1]] if loc[1] < len(rules) else {}
            rid = rule.get("id", f"#{loc[1]}") if isinstance(rule, dict) else f"#{loc[1]}"
            field = ".".join(str(x) for x in loc[2:]) or "(rule)"
            where = f"rule {rid}, field {field}"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_pack_file(path: Path) -> RulePack:
    """Parse and validate one YAML pack; errors name the file, rule id and field."""
    import yaml

    try:
        raw = yaml_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulePackError(f"{path}: cannot read rule pack: {exc}") from exc
    if not isinstance(raw, dict):
        raise RulePackError(f"{path}: a rule pack must be a mapping with 'pack' and 'rules'")
    try:
        return RulePack.model_validate(raw)
    except ValidationError as exc:
        raise RulePackError(f"{path}: {_describe(exc, raw)}") from exc


def pack_files(extra_dirs: Sequence[Path | str] = ()) -> list[Path]:
    """Bundled packs first, then user packs from `extra_dirs` and $KEFUGUARD_RULES_DIR."""
    dirs: list[Path] = [bundled_pack_dir(), *(Path(d) for d in extra_dirs)]
    env = os.environ.get(USER_PACKS_ENV)
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    files: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            raise RulePackError(f"{d}: rule-pack directory does not exist")
        files.extend(sorted([*d.glob("*.yaml"), *d.glob("*.yml")]))
    return files


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> RulePack:
    return load_pack_file(Path(path))


def load_packs(extra_dirs: Sequence[Path | str] = ()) -> list[RulePack]:
    """All packs, validated; rule ids must be unique across packs."""
    packs = [_load_cached(str(p), p.stat().st_mtime) for p in pack_files(extra_dirs)]
    owner: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in owner:
                raise RulePackError(
                    f"rule id {rule.id!r} is defined in both pack {owner[rule.id]!r} and {pack.pack.id!r}"
                )
            owner[rule.id] = pack.pack.id
    return packs


def check_platform(platform: str) -> str:
    """Validate a platform name, with a message listing the valid ones."""
    return platform_code(platform)


def rules_for(platform: str, packs: Iterable[RulePack]) -> list[tuple[RulePack, Rule]]:
    """The (pack, rule) pairs that apply on `platform`."""
    platform = check_platform(platform)
    return [(pack, rule) for pack in packs for rule in pack.rules if platform in pack.platforms_of(rule)]
