"""Fuzz benchmark: generated risky messages through Checker.check and rewrite on every platform.

The messages come from the fragment grammar the fuzz tests use (tests/fuzzing.py, its seeded
front end). For each platform: check every message, rewrite it, re-check the rewrite, and count

* exceptions (check or rewrite raising),
* rewrites that add a finding (a rule id the re-check reports that the input's check did not),
* rewrites whose `complete` disagrees with the re-check (complete but not clean, or the reverse),
* incomplete rewrites (findings a human must rephrase: rude tone and the like),

with timings. Then a long message (40,000 characters, 2,000 phone numbers and 2,000 WeChat
mentions) and its halves are rewritten, to show that rewrite is linear in its findings.

Exit status 1 if any exception, added finding or dishonest `complete`.
Usage: python bench/bench_fuzz.py [--messages 100000] [--platforms douyin,jd] [--jobs 1] [--out bench/out/fuzz.md]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import multiprocessing
import random
import statistics
import sys
import time
import traceback
from pathlib import Path

from kefuguard.checker import Checker
from kefuguard.rewrite import rewrite
from kefuguard.rules.model import PLATFORMS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = 3  # failing messages kept per platform and kind
WARM_UP = 500  # untimed messages first, from another seed


def _generator(seed: int):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tests.fuzzing").MessageGenerator(seed)


def fuzz_platform(args: tuple[str, int, int]) -> dict:
    platform, n, seed = args
    t0 = time.perf_counter()
    checker = Checker(platform)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    messages = _generator(seed).messages(n)
    gen_s = time.perf_counter() - t0
    for text in _generator(seed + 1000).messages(WARM_UP):  # lazily loaded validator data (stdnum, phonenumbers)
        with contextlib.suppress(Exception):  # counted in the measured pass, if it recurs there
            rewrite(text, platform, checker)
    clock = time.perf_counter_ns
    check_ns: list[int] = []
    rewrite_ns: list[int] = []
    stats = {"flagged": 0, "exceptions": 0, "added": 0, "dishonest": 0, "incomplete": 0, "changed": 0}
    examples: dict[str, list[str]] = {"exceptions": [], "added": [], "dishonest": []}
    for text in messages:
        try:
            t_a = clock()
            before = checker.check(text).findings
            t_b = clock()
            result = rewrite(text, platform, checker)
            t_c = clock()
            after = checker.check(result.text).findings
        except Exception:
            stats["exceptions"] += 1
            if len(examples["exceptions"]) < EXAMPLES:
                examples["exceptions"].append(f"{text!r}: {traceback.format_exc(limit=-1).strip().splitlines()[-1]}")
            continue
        check_ns.append(t_b - t_a)
        if not before:
            continue
        stats["flagged"] += 1
        rewrite_ns.append(t_c - t_b)
        stats["changed"] += result.text != text
        added = {f.rule_id for f in after} - {f.rule_id for f in before}
        if added:
            stats["added"] += 1
            if len(examples["added"]) < EXAMPLES:
                examples["added"].append(f"{text!r} → {result.text!r} adds {sorted(added)}")
        if result.complete == bool(after):
            stats["dishonest"] += 1
            if len(examples["dishonest"]) < EXAMPLES:
                examples["dishonest"].append(f"{text!r} → {result.text!r} complete={result.complete}")
        stats["incomplete"] += not result.complete
    return {
        "platform": platform,
        "messages": n,
        "mean_chars": statistics.mean(map(len, messages)) if messages else 0,
        "build_s": build_s,
        "gen_s": gen_s,
        "check_us": statistics.mean(check_ns) / 1000 if check_ns else 0.0,
        "rewrite_us": statistics.mean(rewrite_ns) / 1000 if rewrite_ns else 0.0,
        "rewrite_p99_us": statistics.quantiles(rewrite_ns, n=100)[98] / 1000 if len(rewrite_ns) > 1 else 0.0,
        "total_s": sum(check_ns) / 1e9 + sum(rewrite_ns) / 1e9,
        "examples": examples,
        **stats,
    }


class _TimedChecker:
    """The checker behind rewrite, timing its checks (to tell them from rewrite's own work)."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.platform = checker.platform
        self.seconds = 0.0
        self.calls = 0

    def check(self, text: str):
        t0 = time.perf_counter()
        try:
            return self.checker.check(text)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def long_message(pairs: int, seed: int = 3) -> str:
    """`pairs` × (a phone number + a WeChat mention), 20 characters each: 亲电话138…，加微信哦。"""
    rng = random.Random(seed)
    parts = []
    for _ in range(pairs):
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        parts.append(f"亲电话{phone}，加微信哦。")
    return "".join(parts)


def measure_long(platform: str, sizes: tuple[int, ...], repeats: int = 3) -> list[dict]:
    checker = Checker(platform)
    rows = []
    for pairs in sizes:
        text = long_message(pairs)
        findings = len(checker.check(text).findings)
        best_check = min(_seconds(lambda t=text: checker.check(t)) for _ in range(repeats))
        best = None
        for _ in range(repeats):
            timed = _TimedChecker(checker)
            t0 = time.perf_counter()
            result = rewrite(text, platform, timed)
            total = time.perf_counter() - t0
            if best is None or total < best[0]:
                best = (total, timed.seconds, timed.calls, result)
        total, in_checks, calls, result = best
        clean = checker.check(result.text).ok
        rows.append(
            {
                "chars": len(text),
                "findings": findings,
                "check_s": best_check,
                "rewrite_s": total,
                "checks_s": in_checks,
                "calls": calls,
                "own_s": total - in_checks,
                "complete": result.complete,
                "clean": clean,
            }
        )
    return rows


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000, help="generated messages per platform")
    ap.add_argument("--platforms", default=",".join(PLATFORMS))
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--jobs", type=int, default=1, help="platforms fuzzed in parallel processes")
    ap.add_argument("--long-platform", default="pinduoduo", help="platform of the long-message measurement")
    ap.add_argument("--out", type=Path, default=Path("bench/out/fuzz.md"))
    args = ap.parse_args()
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    tasks = [(p, args.messages, args.seed + i) for i, p in enumerate(platforms)]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(min(args.jobs, len(tasks))) as pool:
            results = pool.map(fuzz_platform, tasks)
    else:
        results = []
        for task in tasks:
            results.append(fuzz_platform(task))
            print(f"  {task[0]}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    fuzz_s = time.perf_counter() - t0
    long_rows = measure_long(args.long_platform, (500, 1000, 2000))

    lines = [
        f"Fuzz: {args.messages:,} generated messages per platform (tests/fuzzing.py grammar, seed {args.seed}"
        f"+platform index), each checked, rewritten and the rewrite re-checked; {fuzz_s:.0f} s in all, "
        f"{args.jobs} process(es).",
        "",
        "| platform | messages | mean chars | flagged | exceptions | rewrites adding a finding | complete ≠ clean "
        "| incomplete (of flagged) | text changed | check µs (mean) | rewrite µs (mean / p99, flagged) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['platform']} | {r['messages']:,} | {r['mean_chars']:.0f} | {r['flagged']:,} | {r['exceptions']} "
            f"| {r['added']} | {r['dishonest']} | {r['incomplete']:,} | {r['changed']:,} | {r['check_us']:.0f} "
            f"| {r['rewrite_us']:.0f} / {r['rewrite_p99_us']:.0f} |"
        )
    failures = [
        f"- {r['platform']} {kind}: {example}"
        for r in results
        for kind, items in r["examples"].items()
        for example in items
    ]
    if failures:
        lines += ["", "Failing examples (first few per platform and kind):", "", *failures]
    lines += [
        "",
        f"Long messages on `{args.long_platform}` (亲电话<mobile>，加微信哦。 repeated: one phone number and one WeChat "
        "mention per 20 characters); best of 3. `in checks` is the time rewrite spent in Checker.check (the input and "
        "each rewritten text), `own` the rest (choosing edits, building the text, mapping findings back).",
        "",
        "| chars | findings | check s | rewrite s | in checks s (calls) | own s | complete | re-check clean |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in long_rows:
        lines.append(
            f"| {row['chars']:,} | {row['findings']:,} | {row['check_s']:.3f} | {row['rewrite_s']:.3f} "
            f"| {row['checks_s']:.3f} ({row['calls']}) | {row['own_s']:.3f} | {row['complete']} | {row['clean']} |"
        )
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")
    bad = sum(r["exceptions"] + r["added"] + r["dishonest"] for r in results)
    bad += sum(not (row["clean"] and row["complete"]) for row in long_rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
