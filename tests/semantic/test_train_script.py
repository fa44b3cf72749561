"""scripts/train_tone.py on a small COLD sample: it trains, prints its tables, writes loadable weights, reproducibly."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
COLD = ROOT.parent / "shared" / "data" / "cold"


def _script():
    spec = importlib.util.spec_from_file_location("train_tone", ROOT / "scripts" / "train_tone.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (COLD / "cold_train.csv").is_file(), reason="COLD not present in ../shared/data/cold")
def test_retrain_on_a_small_sample(encoder, tmp_path, capsys) -> None:
    from kefuguard.semantic.tone import ToneModel

    train = _script()
    args = ["--cold-dir", str(COLD), "--cold-limit", "300", "--cold-dev-limit", "200", "--skip-bench",
            "--cache-dir", str(tmp_path / "cache")]
    first = [*args, "--out", str(tmp_path / "a.npz"), "--off-topic-out", str(tmp_path / "a.json")]
    assert train.main(first) == 0
    printed = capsys.readouterr().out
    for heading in ("COLD dev (offensive vs not)", "own held-out (30%)", "Own held-out, per tone", "Off-topic (答非所问)"):
        assert heading in printed
    model = ToneModel(tmp_path / "a.npz")
    assert model.meta["data"]["cold_train"] == 300 and model.meta["seed"] == train.SEED
    assert model.predict(["您自己看详情页吧"])[0].probability > model.predict(["亲，您好，很高兴为您服务~"])[0].probability
    off = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert 0.0 < off["threshold"] < 1.0 and off["held_out"]["n"] > 50

    # same data, same seed: the same weights (the second run reads the embedding cache)
    second = [*args, "--out", str(tmp_path / "b.npz"), "--off-topic-out", str(tmp_path / "b.json")]
    assert train.main(second) == 0
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        for key in ("rude_coef", "cat_coef", "mean", "scale"):
            assert np.allclose(a[key], b[key], atol=1e-6), key
