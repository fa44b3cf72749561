"""Per-shop overlays: memory for many shops on one platform, compile time, check overhead.

    .venv/bin/python bench/bench_shop.py [--shops 200] [--words 50] [--platform pinduoduo]

Builds the shared platform checker once, then N shops with W banned words each (a few of them
regexes), allowed phrases, per-rule exceptions, a disabled rule and a severity override, and
reports the RSS growth beyond the shared checker, the time to compile one overlay, the time of
one change (add a word: validate, compile, swap) and what the overlay adds to `check()`.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kefuguard.checker import Checker
from kefuguard.shop import ShopChecker, ShopSettings

_CHARS = "竞品店铺旗舰专卖直营官方正品特价秒杀爆款清仓包邮赠品福利红包返现折扣会员积分定制代购工厂批发"
_CLEAN = [
    "亲，您好，请问有什么可以帮您的吗？",
    "好的，这边马上为您安排发货哦",
    "这个尺码偏小一码，建议您拍大一号",
    "支持七天无理由退换货，请放心购买",
    "快递一般三到五天送达，偏远地区会慢一些",
    "颜色以实物为准，不同显示器会有一点色差",
]
_FLAGGED = ["这个宝贝很好", "加我微信发你优惠券", "全网最低价", "打我电话 138 0013 8000", "我们不能加微信哦"]


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def shop_settings(n: int, words: int, rng: random.Random, platform: str, rule_ids: list[str]) -> ShopSettings:
    banned = []
    for i in range(words):
        text = f"{''.join(rng.sample(_CHARS, 3))}{n}号{i}"
        if i % 10 == 9:
            banned.append({"text": f"{text}.{{0,3}}返现", "regex": True, "tags": ["正则"]})
        else:
            banned.append({"text": text, "tags": [f"标签{i % 5}"], "severity": rng.choice(["major", "minor"])})
    return ShopSettings(
        shop_id=f"shop{n:04d}",
        platform=platform,
        banned_words=banned,
        allowed_phrases=[f"本店{n}专属{j}" for j in range(10)],
        disabled_rules=[rule_ids[n % len(rule_ids)]],
        severity_overrides={rule_ids[(n + 1) % len(rule_ids)]: "info"},
        rule_exceptions={rule_ids[(n + 2) % len(rule_ids)]: [f"例外{n}短语{j}" for j in range(3)]},
    )


def per_call_us(fn, messages: list[str], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for m in messages:
            fn(m)
        best = min(best, time.perf_counter() - t0)
    return best / len(messages) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shops", type=int, default=200)
    ap.add_argument("--words", type=int, default=50)
    ap.add_argument("--platform", default="pinduoduo")
    args = ap.parse_args()
    rng = random.Random(7)

    before_checker = rss_mb()
    t0 = time.perf_counter()
    checker = Checker(args.platform)
    build_s = time.perf_counter() - t0
    # warm the lazy process-wide caches (tables, probe views, GB2312 list) with one throwaway shop
    ShopChecker(shop_settings(-1, 5, rng, args.platform, [cr.id for cr in checker.rules]), checker)
    base = rss_mb()
    rule_ids = [cr.id for cr in checker.rules]

    # the shops, built as a service would (settings parsed, handed over, not kept elsewhere)
    shops, build_ms = [], []
    for n in range(args.shops):
        s = shop_settings(n, args.words, rng, args.platform, rule_ids)
        t0 = time.perf_counter()
        shops.append(ShopChecker(s, checker))
        build_ms.append((time.perf_counter() - t0) * 1000)
    del s
    after = rss_mb()
    # for scale: the settings models alone (what the shops hold besides their compiled overlays)
    settings = [shop.settings for shop in shops]
    settings_mb = rss_mb() - after
    del settings
    compile_ms = [s.last_compile_ms for s in shops]

    # one change, end to end: validate, compile a new overlay, swap (what a shop's edit costs)
    change_ms = []
    for i, shop in enumerate(shops[:50]):
        t0 = time.perf_counter()
        shop.add_words([f"新增禁用词{i}"])
        change_ms.append((time.perf_counter() - t0) * 1000)

    # check overhead: the same messages through the shared checker and through a shop
    shop = shops[0]
    own = [w.text for w in shop.settings.banned_words if not w.regex][:5]
    messages = [rng.choice(_CLEAN) for _ in range(900)] + [rng.choice(_FLAGGED) for _ in range(90)]
    messages += [f"亲，别去{w}看了" for w in own] * 2
    rng.shuffle(messages)
    base_us = per_call_us(checker.check, messages)
    shop_us = per_call_us(shop.check, messages)
    clean_base = per_call_us(checker.check, _CLEAN * 50)
    clean_shop = per_call_us(shop.check, _CLEAN * 50)

    def q(values: list[float], p: float) -> float:
        return sorted(values)[min(len(values) - 1, int(p * len(values)))]

    print(f"platform {args.platform}: shared checker build {build_s:.2f} s, "
          f"RSS {before_checker:.0f} → {base:.0f} MB with the checker")
    print(f"{args.shops} shops × {args.words} words ({args.words // 10} regexes each), 10 allowed phrases, "
          "3 rule exceptions, 1 disabled rule, 1 severity override per shop")
    print()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| RSS growth, {args.shops} shops (settings models + overlays) | {after - base:.1f} MB |")
    print(f"| for scale: {args.shops} more copies of the settings models | {settings_mb:.1f} MB |")
    print(f"| per shop | {(after - base) / args.shops * 1024:.0f} KB |")
    print(f"| overlay compile, p50 / p99 / max | {q(compile_ms, .5):.2f} / {q(compile_ms, .99):.2f} / "
          f"{max(compile_ms):.2f} ms |")
    print(f"| ShopChecker build incl. validation, p50 / max | {statistics.median(build_ms):.2f} / "
          f"{max(build_ms):.2f} ms |")
    print(f"| one change (add_words: validate, compile, swap), p50 / max | {statistics.median(change_ms):.2f} / "
          f"{max(change_ms):.2f} ms |")
    print(f"| check, mixed messages ({len(messages)}): shared checker / shop | {base_us:.1f} / {shop_us:.1f} µs "
          f"(+{shop_us - base_us:.1f} µs) |")
    print(f"| check, clean messages: shared checker / shop | {clean_base:.1f} / {clean_shop:.1f} µs "
          f"(+{clean_shop - clean_base:.1f} µs) |")


if __name__ == "__main__":
    main()
