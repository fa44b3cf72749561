"""Cold-start benchmark: what a fresh process pays before it can check one message.

Measures, each in fresh processes (nothing shared between runs but the OS file cache):
  (a) `Checker(platform)` build time, after the import (min/median of 5 processes), and in 5 more processes
      where it goes (reading the packs, the normaliser tables, the rest);
  (b) wall time of a cold CLI call, `kefuguard check "亲，这款是纯棉的哦" --platform pinduoduo`, through the
      venv's `kefuguard` script (min/median of 7 runs; the first run is also shown, it may compile bytecode);
  (c) Python import time of `kefuguard.checker` (same 5 processes as (a)), with the interpreter's bare start
      and `import kefuguard.cli` beside it, and the slowest imports by `python -X importtime`.
Writes bench/out/coldstart.md. Target: cold CLI check < 0.4 s.
Usage: python bench/bench_coldstart.py [--platform pinduoduo] [--out bench/out/coldstart.md]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_CLI_S = 0.4
MESSAGE = "亲，这款是纯棉的哦"

_BUILD = """
import json, time
t0 = time.perf_counter()
import kefuguard.checker
t1 = time.perf_counter()
kefuguard.checker.Checker({platform!r})
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "build_s": t2 - t1}}))
"""
# where the build goes, in other fresh processes (best effort: these are internal names)
_PARTS = """
import json, time
import kefuguard.checker as c
from kefuguard.rules.loader import load_packs
t0 = time.perf_counter()
packs = load_packs()
t1 = time.perf_counter()
c.shared_tables()
t2 = time.perf_counter()
c.Checker({platform!r}, packs=packs)
t3 = time.perf_counter()
print(json.dumps({{"load_packs": t1 - t0, "shared_tables": t2 - t1, "rest": t3 - t2}}))
"""


def _wall(cmd: list[str], expect_rc: tuple[int, ...] = (0,)) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in expect_rc:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def _stats(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def _importtime(python: str, module: str) -> list[tuple[str, int, float, float]]:
    """(module, depth, cumulative s, self s) for every import under `python -X importtime -c "import module"`."""
    proc = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, raw = line[len("import time:") :].split("|")
        depth = (len(raw) - len(raw.lstrip()) - 1) // 2
        rows.append((raw.strip(), depth, int(cum_us) / 1e6, int(self_us) / 1e6))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", default="pinduoduo")
    ap.add_argument("--builds", type=int, default=5, help="fresh processes for the build and import times")
    ap.add_argument("--cli-runs", type=int, default=7, help="fresh CLI calls")
    ap.add_argument("--out", type=Path, default=Path("bench/out/coldstart.md"))
    args = ap.parse_args()
    bindir = Path(sys.executable).parent  # run with the venv's python: its kefuguard script sits beside it
    python = sys.executable
    kefuguard = str(bindir / "kefuguard") if (bindir / "kefuguard").exists() else shutil.which("kefuguard")
    if not kefuguard:
        raise SystemExit("no kefuguard script beside this python or on PATH: run with the venv's python")

    # (c) and (a): import, then build, in fresh processes
    imports, builds = [], []
    for _ in range(args.builds):
        proc = subprocess.run(
            [python, "-c", _BUILD.format(platform=args.platform)], capture_output=True, text=True, check=True
        )
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        imports.append(got["import_s"])
        builds.append(got["build_s"])
    parts: dict[str, list[float]] = {}
    for _ in range(args.builds):
        proc = subprocess.run(
            [python, "-c", _PARTS.format(platform=args.platform)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            parts = {}
            break
        for key, value in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            parts.setdefault(key, []).append(value)
    bare = [_wall([python, "-c", "pass"]) for _ in range(args.builds)]
    cli_import = [_wall([python, "-c", "import kefuguard.cli"]) for _ in range(args.builds)]
    # (b) the cold CLI call; a clean message exits 0
    cli = [_wall([kefuguard, "check", MESSAGE, "--platform", "pinduoduo"]) for _ in range(args.cli_runs)]
    cli_tree = _importtime(python, "kefuguard.cli, kefuguard.checker")

    cli_min, cli_med = _stats(cli)
    lines = [
        f"Cold start, platform `{args.platform}` (CLI: `pinduoduo`), Python {sys.version.split()[0]}; "
        f"fresh processes; min / median of {args.builds} (imports, build) and {args.cli_runs} (CLI) runs.",
        "",
        "| step | min s | median s | runs |",
        "|---|---:|---:|---:|",
        "| bare interpreter start (`python -c pass`), wall | {:.3f} | {:.3f} | {} |".format(*_stats(bare), len(bare)),
        "| `import kefuguard.checker`, in process | {:.3f} | {:.3f} | {} |".format(*_stats(imports), len(imports)),
        f"| `Checker('{args.platform}')` build, in process after the import | {{:.3f}} | {{:.3f}} | {{}} |".format(
            *_stats(builds), len(builds)
        ),
        *(
            f"| &nbsp;&nbsp;of which {label} | {min(parts[key]):.3f} | {statistics.median(parts[key]):.3f} "
            f"| {len(parts[key])} |"
            for key, label in (
                ("load_packs", "`load_packs()` (reading the YAML packs)"),
                ("shared_tables", "`shared_tables()` (normaliser tables)"),
                ("rest", "the rest (rules, automata, screen)"),
            )
            if key in parts
        ),
        "| `python -c 'import kefuguard.cli'`, wall | {:.3f} | {:.3f} | {} |".format(*_stats(cli_import), len(cli_import)),
        f"| **cold `kefuguard check \"{MESSAGE}\" --platform pinduoduo`, wall** | {cli_min:.3f} | {cli_med:.3f} "
        f"| {len(cli)} |",
        "",
        f"CLI runs in order (s): {', '.join(f'{t:.3f}' for t in cli)}.",
        "",
        f"Target: cold CLI check < {TARGET_CLI_S} s — median {cli_med:.3f} s: "
        f"{'met' if cli_med < TARGET_CLI_S else 'NOT met'} (min {cli_min:.3f} s: "
        f"{'met' if cli_min < TARGET_CLI_S else 'NOT met'}).",
        "",
        "Where the import time goes (`python -X importtime -c 'import kefuguard.cli, kefuguard.checker'`, one "
        "run; cumulative includes what a module imports, self does not; the largest direct imports, then the "
        "largest self times anywhere):",
        "",
        "| module | depth | cumulative s | self s |",
        "|---|---:|---:|---:|",
    ]
    direct = [r for r in cli_tree if r[1] <= 1 or (r[1] == 2 and r[0].startswith("kefuguard"))]
    shown = sorted(direct, key=lambda r: r[2], reverse=True)[:10]
    heavy = [r for r in sorted(cli_tree, key=lambda r: r[3], reverse=True)[:8] if r not in shown]
    for name, depth, cum, own in shown:
        lines.append(f"| `{name}` | {depth} | {cum:.3f} | {own:.3f} |")
    lines.append("| *largest self times* | | | |")
    for name, depth, cum, own in heavy:
        lines.append(f"| `{name}` | {depth} | {cum:.3f} | {own:.3f} |")
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
