"""Message-checker benchmark: the full checker beside two baselines, in one run, on one core.

Baselines over the same texts and the same keywords (every keyword and alias of the loaded packs):
  (a) raw ahocorasick-rs scan, no normalisation — the floor any checker must pay;
  (b) a naive Python `re` alternation of all keywords.
Messages: a seeded, realistic mix (most clean; some traditional, full-width and evasive).
Usage: python bench/bench_checker.py [--messages 20000] [--platform pinduoduo] [--out bench/out/checker.md]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
from pathlib import Path

import ahocorasick_rs
import opencc

from kefuguard.checker import Checker

CLEAN = [
    "亲，您好，请问有什么可以帮您？",
    "好的呢，马上为您安排发货，预计{d}天内送达哦",
    "这款是纯棉的，尺码偏小，建议拍大一码~",
    "亲，身高{h}体重{w}斤建议拍{size}码",
    "订单号 {order} 已经发出，请注意查收",
    "快递单号SF{track}，明天应该就到了",
    "现在活动价¥{price}，满300减30可以叠加",
    "最近天气冷，这款加厚的卖得很好~",
    "第一次购买可以领新人优惠券哦",
    "两款唯一的区别是颜色，其他都一样",
    "支持7天无理由退换货，您放心购买",
    "已经为您加急处理了，请耐心等待一下",
    "可以先加购，{date} 活动开始再付款更划算",
    "退款已经原路退回，1-3个工作日到账",
    "发票可以开的，请提供抬头和税号",
    "亲亲，库存还有{n}件，喜欢的话尽快下单哦",
    "收到货有任何问题随时联系我们，祝您生活愉快！",
    "这个颜色有点色差，以实物为准哈",
    "您好，在的，请问是想了解哪款商品呢",
    "谢谢亲的支持，欢迎下次光临~",
]
BAD = [
    "加我微信吧亲，发你优惠券",
    "V❤信 {qq} 聊更方便",
    "打我电话 138 {a} {b}",
    "一三八零零一三八零零零 有事打这个",
    "去某宝搜同款更便宜",
    "扫这个二维码付款就行",
    "你自己不会看吗？详情页写着呢",
    "全网最低价，绝对正品",
    "我们不能加微信哦，有问题这里说",
    "发票的话要加6个点税",
    "给个五星好评返现5元",
    "企鹅号 {qq} 联系我",
]
CLAUSES = (1, 1, 2, 2, 3)  # clauses per message: mean about 34 characters
T2S = opencc.OpenCC("s2t")  # make traditional variants of clean messages
FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def make_messages(n: int, seed: int = 7, clauses: tuple[int, ...] = CLAUSES) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        # agents often send two or three clauses in one message; about one in ten breaks a rule
        parts = [rng.choice(CLEAN) for _ in range(rng.choice(clauses))]
        if r < 0.10:
            parts[rng.randrange(len(parts))] = rng.choice(BAD)
        template = "".join(parts)
        text = template.format(
            d=rng.randint(1, 5), h=rng.randint(150, 185), w=rng.randint(90, 180), size=rng.choice("SMLX"),
            order=f"{rng.randint(100000, 999999)}-{rng.randint(10**14, 10**15 - 1)}",
            track=rng.randint(10**11, 10**12 - 1), price=rng.randint(9, 999), date="2024-05-01 14:30",
            n=rng.randint(2, 99), qq=rng.randint(10**6, 10**9), a=f"{rng.randint(0, 9999):04d}",
            b=f"{rng.randint(0, 9999):04d}",
        )
        if 0.10 <= r < 0.15:
            text = T2S.convert(text)
        elif 0.15 <= r < 0.18:
            text = text.translate(FULLWIDTH)
        out.append(text)
    return out


def _timed(fn, messages: list[str]) -> tuple[int, list[int]]:
    """Total and per-message nanoseconds for one pass of `fn` over `messages`."""
    timings = []
    clock = time.perf_counter_ns
    t_start = clock()
    for m in messages:
        t0 = clock()
        fn(m)
        timings.append(clock() - t0)
    return clock() - t_start, timings


def measure_interleaved(fns: dict, rounds: int, chunk: int = 500) -> dict:
    """(messages/s, p50 µs, p99 µs) per matcher, robust to a busy machine.

    The messages are cut into chunks of `chunk`; in every round each chunk is timed for every
    matcher back to back, and each (matcher, chunk) keeps its fastest pass. A burst of noise thus
    hits the matchers alike and only the chunk it falls in, instead of the whole pass of whichever
    matcher happened to run then (a whole pass of the full checker takes ten times longer than the
    raw scan's, so best-of-whole-passes favoured the raw scan on a noisy machine).
    """
    for fn, messages in fns.values():
        for m in messages[:200]:
            fn(m)
    best: dict[tuple[str, int], tuple[int, list[int]]] = {}
    for _ in range(rounds):
        for name, (fn, messages) in fns.items():
            for start in range(0, len(messages), chunk):
                elapsed, timings = _timed(fn, messages[start : start + chunk])
                key = (name, start)
                if key not in best or elapsed < best[key][0]:
                    best[key] = (elapsed, timings)
    out = {}
    for name, (_fn, messages) in fns.items():
        parts = [best[(name, start)] for start in range(0, len(messages), chunk)]
        timings = [t for _, ts in parts for t in ts]
        q = statistics.quantiles(timings, n=100)
        out[name] = (len(timings) / (sum(e for e, _ in parts) / 1e9), q[49] / 1000, q[98] / 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--platform", default="pinduoduo")
    ap.add_argument("--clauses", default="1,1,2,2,3", help="clauses per message to draw from (length mix)")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds; each chunk's fastest pass is kept")
    ap.add_argument(
        "--chunk", type=int, default=500, help="messages per timed chunk (the whole set = fastest whole pass per matcher)"
    )
    ap.add_argument("--out", type=Path, default=Path("bench/out/checker.md"))
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # one core, the same for every matcher
    messages = make_messages(args.messages, clauses=tuple(int(x) for x in args.clauses.split(",")))
    t0 = time.perf_counter()
    checker = Checker(args.platform)
    build_s = time.perf_counter() - t0
    keywords = list(checker._patterns)  # every string the checker's automaton scans for
    # the same without the literals the checker derives from regexes (rule keywords, aliases,
    # exceptions and anchors only): fewer patterns make the raw scan faster, so this is the
    # stricter floor, and the ratio below is taken against the faster of the two
    written = [p for p, pl in zip(checker._patterns, checker._payloads, strict=True) if any(k < 3 for k, _, _ in pl)]
    raw = ahocorasick_rs.AhoCorasick(keywords)
    raw_written = ahocorasick_rs.AhoCorasick(written)
    alternation = re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)))
    flagged = sum(1 for m in messages if checker.check(m).findings)
    naive_subset = messages[: max(2000, len(messages) // 5)]  # the naive regex is slow: a fifth of the set
    measured = measure_interleaved(
        {
            "kefuguard Checker.check (full)": (checker.check, messages),
            "raw ahocorasick-rs scan, no normalisation": (lambda m: raw.find_matches_as_indexes(m), messages),
            "raw scan, written keywords only": (lambda m: raw_written.find_matches_as_indexes(m), messages),
            "naive re alternation": (lambda m: alternation.findall(m), naive_subset),
        },
        args.rounds,
        args.chunk,
    )
    rows = list(measured.items())
    lines = [
        f"Platform `{args.platform}`, {len(messages):,} messages (mean {statistics.mean(map(len, messages)):.0f} chars, "
        f"{flagged / len(messages):.1%} flagged), {len(keywords):,} patterns ({len(written):,} written in the packs), "
        f"{len(checker.rules)} rules; "
        f"checker build {build_s:.2f} s; one core; fastest of {args.rounds} interleaved passes per chunk of {args.chunk}.",
        "",
        "| matcher | messages/s | p50 µs | p99 µs |",
        "|---|---:|---:|---:|",
    ]
    for name, (rate, p50, p99) in rows:
        lines.append(f"| {name} | {rate:,.0f} | {p50:.1f} | {p99:.1f} |")
    full, floor = rows[0][1][0], max(rows[1][1][0], rows[2][1][0])
    lines += ["", f"Full checker / faster raw scan throughput: {full / floor:.3f} (target ≥ 0.10); p99 target < 100 µs."]
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
