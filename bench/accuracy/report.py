"""Accuracy of the message checker on the blind labelled set in this folder.

    python bench/accuracy/report.py [--out bench/out/accuracy.md]

Loads violations.yaml and clean.yaml, expands `platform: all` to the six platforms, checks every
case with one `kefuguard.checker.Checker` per platform, and prints (and writes as Markdown):
recall on violations (a case is caught when a finding of the labelled category is reported; "any
finding" recall is shown beside it) overall, per category, per evasion class and per platform; the
false-positive rate on clean cases (any finding is a false positive) overall, per trap class and per
platform; then every miss and every false positive. Always exits 0: it reports, it does not gate.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kefuguard.checker import Checker

HERE = Path(__file__).resolve().parent
PLATFORMS = ("douyin", "pinduoduo", "tmall", "taobao", "jd", "kuaishou")
DEFAULT_OUT = HERE.parent / "out" / "accuracy.md"


@dataclass
class Outcome:
    platform: str
    text: str
    label: str  # category (violations) or trap (clean)
    group: str  # evasion class (violations) or trap (clean)
    found: list[tuple[str, str]] = field(default_factory=list)  # (rule id, category)

    @property
    def any_finding(self) -> bool:
        return bool(self.found)

    @property
    def caught(self) -> bool:
        return any(cat == self.label for _, cat in self.found)


def load(name: str) -> list[dict]:
    with (HERE / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or []


def expand(case: dict) -> list[str]:
    return list(PLATFORMS) if case["platform"] == "all" else [case["platform"]]


def run(checkers: dict[str, Checker], cases: list[dict], label_key: str, group_key: str) -> list[Outcome]:
    out: list[Outcome] = []
    for case in cases:
        for platform in expand(case):
            result = checkers[platform].check(case["text"])
            found = [(f.rule_id, f.category.value) for f in result.findings]
            out.append(Outcome(platform, case["text"], case[label_key], case[group_key], found))
    return out


def pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.1f}%" if den else "—"


def recall_table(title: str, outcomes: list[Outcome], key) -> list[str]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[key(o)].append(o)
    rows = sorted(groups.items(), key=lambda kv: (sum(o.caught for o in kv[1]) / len(kv[1]), kv[0]))
    lines = [
        f"### Recall by {title}",
        "",
        f"| {title} | cases | caught | recall | any finding |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, group in rows:
        caught = sum(o.caught for o in group)
        anyf = sum(o.any_finding for o in group)
        lines.append(
            f"| {name} | {len(group)} | {caught} | {pct(caught, len(group))} | {pct(anyf, len(group))} |"
        )
    return [*lines, ""]


def fp_table(title: str, outcomes: list[Outcome], key) -> list[str]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[key(o)].append(o)
    rows = sorted(groups.items(), key=lambda kv: (-sum(o.any_finding for o in kv[1]) / len(kv[1]), kv[0]))
    lines = [
        f"### False positives by {title}",
        "",
        f"| {title} | cases | flagged | FP rate |",
        "|---|---:|---:|---:|",
    ]
    for name, group in rows:
        flagged = sum(o.any_finding for o in group)
        lines.append(f"| {name} | {len(group)} | {flagged} | {pct(flagged, len(group))} |")
    return [*lines, ""]


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def found_str(o: Outcome) -> str:
    return ", ".join(f"{rid} ({cat})" for rid, cat in o.found) or "—"


def report(
    violations: list[dict],
    clean: list[dict],
    build_s: float,
    check_s: float,
    viol: list[Outcome],
    cln: list[Outcome],
) -> str:
    caught = sum(o.caught for o in viol)
    anyf = sum(o.any_finding for o in viol)
    fps = sum(o.any_finding for o in cln)
    lines = [
        "# Message checker accuracy on the blind labelled set",
        "",
        "Set: `bench/accuracy/violations.yaml` and `bench/accuracy/clean.yaml`, written without running the "
        "checker (see `bench/accuracy/README.md`). `platform: all` cases are expanded to all six platforms.",
        "",
        f"- violation cases: {len(violations)} written, {len(viol)} checked after expansion",
        f"- clean cases: {len(clean)} written, {len(cln)} checked after expansion",
        f"- checkers built in {build_s:.1f} s; all cases checked in {check_s:.2f} s",
        "",
        "## Summary",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| recall (finding of the labelled category) | {pct(caught, len(viol))} ({caught}/{len(viol)}) |",
        f"| recall (any finding) | {pct(anyf, len(viol))} ({anyf}/{len(viol)}) |",
        f"| false-positive rate on clean cases | {pct(fps, len(cln))} ({fps}/{len(cln)}) |",
        "",
        "## Violations",
        "",
        *recall_table("category", viol, lambda o: o.label),
        *recall_table("evasion", viol, lambda o: o.group),
        *recall_table("platform", viol, lambda o: o.platform),
        "## Clean cases",
        "",
        *fp_table("trap", cln, lambda o: o.group),
        *fp_table("platform", cln, lambda o: o.platform),
    ]
    misses = [o for o in viol if not o.caught]
    lines += [
        f"## Misses ({len(misses)})",
        "",
        "A miss: no finding of the labelled category (other findings, if any, are listed).",
        "",
        "| platform | category | evasion | text | found |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {o.platform} | {o.label} | {o.group} | {cell(o.text)} | {cell(found_str(o))} |" for o in misses
    ]
    fp_list = [o for o in cln if o.any_finding]
    lines += [
        "",
        f"## False positives ({len(fp_list)})",
        "",
        "| platform | trap | text | found |",
        "|---|---|---|---|",
    ]
    lines += [f"| {o.platform} | {o.group} | {cell(o.text)} | {cell(found_str(o))} |" for o in fp_list]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"Markdown output (default {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)

    violations = load("violations.yaml")
    clean = load("clean.yaml")
    t0 = time.perf_counter()
    checkers = {p: Checker(p) for p in PLATFORMS}
    t1 = time.perf_counter()
    viol = run(checkers, violations, "category", "evasion")
    cln = run(checkers, clean, "trap", "trap")
    t2 = time.perf_counter()

    text = report(violations, clean, t1 - t0, t2 - t1, viol, cln)
    sys.stdout.write(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
