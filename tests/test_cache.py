"""The on-disk checker cache: same verdicts as a fresh build, a new key whenever a pack changes,
and a damaged or switched-off cache falls back to building."""

from __future__ import annotations

import shutil

import pytest

from kefuguard import cache
from kefuguard.checker import Checker
from kefuguard.rules.loader import bundled_pack_dir

TEXTS = ["加我微信吧", "全网最低价", "电话 138 0013 8000", "亲，在的，请问有什么可以帮您", "自定义违禁词测试", "tbvx"]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(cache.CACHE_SWITCH_ENV, raising=False)
    return tmp_path / "cache"


def _verdicts(checker: Checker) -> list[dict]:
    return [checker.check(t).model_dump() for t in TEXTS]


def test_cached_checker_equals_a_fresh_build(cache_dir, checkers):
    first = cache.cached_checker("douyin")  # built and stored
    assert any(p.name.startswith("checker-douyin-") for p in cache_dir.iterdir())
    second = cache.cached_checker("douyin")  # loaded
    assert second is not first
    assert _verdicts(second) == _verdicts(first) == _verdicts(checkers["douyin"])


def test_a_changed_pack_gets_a_new_key(cache_dir, tmp_path):
    shop = tmp_path / "shop_rules"
    shop.mkdir()
    pack = (bundled_pack_dir() / "jd.yaml").read_text(encoding="utf-8")
    pack = pack.replace("id: jd\n", "id: myshop\n", 1)
    own = pack.split("\nrules:\n")[0] + "\nrules: []\n"
    (shop / "myshop.yaml").write_text(own, encoding="utf-8")
    key_before = cache.checker_key("jd", [shop])
    (shop / "myshop.yaml").write_text(own.replace("rules: []", "rules: []\n# changed"), encoding="utf-8")
    assert cache.checker_key("jd", [shop]) != key_before
    assert cache.checker_key("jd", [shop]) != cache.checker_key("jd")


def test_damaged_cache_files_are_rebuilt(cache_dir):
    cache.cached_checker("kuaishou")
    for path in cache_dir.iterdir():
        path.write_bytes(b"not a pickle")
    checker = cache.cached_checker("kuaishou")
    assert checker.check("加我微信").findings


def test_switched_off_cache_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setenv(cache.CACHE_SWITCH_ENV, "0")
    assert cache.cache_dir() is None
    assert cache.cached_checker("tmall").check("加我微信").findings
    assert not cache_dir.exists()


def test_unwritable_cache_directory_still_gives_a_checker(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(blocker / "sub"))
    assert cache.cached_checker("taobao").check("加我微信").findings
    shutil.rmtree(tmp_path, ignore_errors=True)
