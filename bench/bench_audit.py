"""Audit benchmark: 1,000,000 generated messages, all checks on, one process vs all cores.

Side by side in one run: (a) import only (parse, validate, group into conversations) — the floor
the audit cannot go below; (b) the full audit in one process; (c) the full audit on all cores.
Each mode runs in a fresh subprocess so its peak RSS (parent and worker processes) is its own.
With `--baseline REV` each mode also runs on that git revision (checked out in a temporary
worktree, same interpreter and dependencies), alternating this tree and the baseline `--repeat`
times on the same input, so a change is compared with its previous commit in one run.
Usage: python bench/bench_audit.py [--messages 1000000] [--baseline HEAD] [--repeat 2] [--out bench/out/audit.md]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODE_CODE = r"""
import json, resource, sys, time
from pathlib import Path
mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if mode == "import":
    from kefuguard.io.importers import import_logs
    conversations, stats = import_logs([path], rejects=Path(out) / "rejects.csv")
    n = sum(len(c.messages) for c in conversations)
else:
    from kefuguard.audit import AuditOptions, run_audit
    report = run_audit([path], AuditOptions(out_dir=Path(out), workers=1 if mode == "audit1" else 0))
    n = report.messages
elapsed = time.perf_counter() - t0
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"messages": n, "seconds": elapsed, "parent_mb": self_kb / 1024, "worker_mb": children_kb / 1024}))
"""


def run_mode(mode: str, path: Path, out: Path, src: Path | None = None) -> dict:
    """One mode in a fresh interpreter; `src`: run that tree's `src/` instead of the installed package."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    if src is not None or os.environ.get("KEFUGUARD_BENCH_BASELINE"):
        env["KEFUGUARD_CACHE"] = "0"  # both trees build their checkers from scratch: the same footing
    proc = subprocess.run(
        [sys.executable, "-c", MODE_CODE, mode, str(path), str(out)], capture_output=True, text=True, check=False,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("bench/out/audit.md"))
    ap.add_argument("--modes", default="import,audit1,auditN")
    ap.add_argument("--baseline", help="git revision to compare with, side by side (e.g. HEAD or HEAD~1)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per mode and tree (the best is reported)")
    args = ap.parse_args()
    if args.baseline:
        return compare(args)
    from kefuguard.sample import generate_to_jsonl

    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="kefuguard-bench-") as tmp:
        data = Path(tmp) / "messages.jsonl"
        t0 = time.perf_counter()
        generate_to_jsonl(data, args.messages, seed=11)
        gen_s = time.perf_counter() - t0
        size_mb = data.stat().st_size / 2**20
        labels = {
            "import": "import only (parse + validate + group)",
            "audit1": "full audit, 1 process",
            "auditN": f"full audit, all cores ({cores})",
        }
        rows = []
        for mode in args.modes.split(","):
            out = Path(tmp) / mode
            out.mkdir()
            r = run_mode(mode, data, out)
            rows.append((labels[mode], r))
            print(f"{labels[mode]}: {r}", file=sys.stderr)
    lines = [
        f"{args.messages:,} generated messages ({size_mb:.0f} MB JSONL, generated in {gen_s:.1f} s), "
        f"all checks on, {cores}-core machine.",
        "",
        "| mode | seconds | messages/s | peak RSS parent MB | peak RSS largest worker MB | peak RSS all MB (≤) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        n_workers = cores if label.startswith("full audit, all") else 0
        worker = f"{r['worker_mb']:.0f}" if n_workers else "—"
        total = r["parent_mb"] + n_workers * r["worker_mb"]
        lines.append(
            f"| {label} | {r['seconds']:.1f} | {r['messages'] / r['seconds']:,.0f} | {r['parent_mb']:.0f} | {worker} "
            f"| {total:.0f} |"
        )
    lines += [
        "",
        "Targets: under 60 s with all cores; peak RSS under 1 GB (parent + workers). The last column adds the "
        "parent's peak to every worker's at the largest worker's peak: an upper bound on the total.",
    ]
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")


def compare(args) -> None:
    """This tree against `args.baseline` on one generated input, runs alternating, best of `--repeat`."""
    os.environ["KEFUGUARD_BENCH_BASELINE"] = "1"
    from kefuguard.sample import generate_to_jsonl

    root = Path(__file__).resolve().parents[1]
    rev = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=root, capture_output=True, text=True,
                         check=True).stdout.strip()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="kefuguard-bench-") as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), rev], cwd=root, check=True,
                       capture_output=True)
        try:
            data = Path(tmp) / "messages.jsonl"
            generate_to_jsonl(data, args.messages, seed=11)
            best: dict[tuple[str, str], dict] = {}
            for i in range(args.repeat):
                for mode in args.modes.split(","):
                    for tree, src in (("this tree", None), (f"baseline {rev}", base / "src")):
                        out = Path(tmp) / f"{mode}-{tree[:4]}-{i}"
                        out.mkdir()
                        r = run_mode(mode, data, out, src)
                        print(f"{tree} {mode} run {i + 1}: {r}", file=sys.stderr)
                        key = (mode, tree)
                        if key not in best or r["seconds"] < best[key]["seconds"]:
                            best[key] = r
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=root, check=False,
                           capture_output=True)
    lines = [
        f"{args.messages:,} generated messages, all checks on, {cores}-core machine; this tree vs baseline {rev}, "
        f"runs alternating, best of {args.repeat}.",
        "",
        "| mode | tree | seconds | messages/s | peak RSS parent MB | peak RSS largest worker MB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (mode, tree), r in best.items():
        lines.append(f"| {mode} | {tree} | {r['seconds']:.1f} | {r['messages'] / r['seconds']:,.0f} | "
                     f"{r['parent_mb']:.0f} | {r['worker_mb']:.0f} |")
    for mode in args.modes.split(","):
        mine, theirs = best[(mode, "this tree")], best[(mode, f"baseline {rev}")]
        lines.append(f"\n{mode}: this tree / baseline = {mine['seconds'] / theirs['seconds']:.3f} (time)")
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_name(args.out.stem + "-vs-baseline.md").write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
