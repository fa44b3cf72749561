"""kefuguard: compliance and quality inspection for Chinese e-commerce customer service.

    >>> import kefuguard
    >>> sorted({f.rule_id for f in kefuguard.check("加我微信吧", platform="jd").findings})
    ['common.diversion.addme', 'common.diversion.wechat']

The engine (`Checker`, `check`, and `kefuguard.rewrite.rewrite`) is pure and importable;
adapters (CLI, importers, reports) live beside it. Names are loaded on first use so
`import kefuguard` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["CheckResult", "Checker", "Finding", "__version__", "check"]

_LAZY = {
    "Checker": ("kefuguard.checker", "Checker"),
    "check": ("kefuguard.checker", "check"),
    "CheckResult": ("kefuguard.findings", "CheckResult"),
    "Finding": ("kefuguard.findings", "Finding"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kefuguard' has no attribute {name!r}")
