"""knas.scoring.cache: the score store's key format and the Explorer's reads of it."""
from knas.scoring import cache
from knas.spaces.nb201 import cells as space
from knas.scoring.cache import ScoreCache, ScoreKey
from tests.conftest import NB201


def test_cached_scores_finds_this_cells_entries_only(runtime):
    arch = space.arch_at(6111)
    store = ScoreCache()
    canonical = space.canonical(arch)
    store.set(f"v1|mgm|abc123|cifar10:ffff|{canonical}", 2.5)
    store.set(f"v1|params|abc123|cifar10:ffff|{space.to_str(arch)}", 1073466.0)
    store.set(f"v1|mgm|abc123|cifar10:ffff|nor_conv_3x3(x)+{canonical}", 9.0)  # another cell
    store.set(f"v1|mgm|abc123|cifar10:ffff|{space.canonical(space.arch_at(0))}", 7.0)
    store.close()
    rows = cache.cached_scores(NB201, arch)
    assert sorted((r["proxy"], r["value"], r["dataset"]) for r in rows) == [
        ("mgm", 2.5, "cifar10"), ("params", 1073466.0, "cifar10")]
    assert cache.cached_scores(NB201, arch, limit=1) and len(cache.cached_scores(NB201, arch, limit=1)) == 1
    assert cache.cached_scores(NB201, arch, directory=runtime / "nowhere") == []


def test_score_keys_round_trip_and_reject_other_strings():
    arch = space.arch_at(6111)
    key = ScoreKey.of(NB201, "mgm", arch, "cifar10:abcd", "s123")
    assert key.cell == space.canonical(arch) and key.dataset == "cifar10"
    assert ScoreKey.parse(key.text) == key
    assert ScoreKey.of(NB201, "params", arch, "cifar10:abcd", "s123").cell == space.to_str(arch)
    assert ScoreKey.parse("jobs") is None and ScoreKey.parse("x|mgm|a|b|c") is None
