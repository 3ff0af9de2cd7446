"""The scoring engine and its cache, on real networks, real images and a real diskcache."""
import subprocess
import sys

import pandas as pd
import pytest
import torch

from knas.data import benchmark, readers, samples
from knas.results import stats
from knas.scoring import backends, cache, scorer
from knas.scoring.cache import ScoreCache
from knas.spaces.nb201 import cells as space
from tests.conftest import NB201, REPO

# Two cells that compute the same function (node 2 is dead in the first; removed in the second).
SAME_A = space.index_of("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
SAME_B = space.index_of("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")


@pytest.fixture(scope="module")
def cifar_ds(shared_data):
    return readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")


def _scorer(ds, cache_dir, n=8, seed=0, params="all"):
    settings = scorer.ScoreSettings(n=n, seed=seed, params=params)
    return scorer.Scorer(NB201, scorer.make_batch(ds, n, seed, NB201), settings,
                         ScoreCache(cache_dir), "cpu")


def test_second_pass_does_no_network_work(cifar_ds, tmp_path):
    pool = space.sample(4, seed=1)
    first = list(_scorer(cifar_ds, tmp_path).score_pool(pool, ["mgm", "params"]))
    assert sum(r.networks_built for r in first) > 0
    again = list(_scorer(cifar_ds, tmp_path).score_pool(pool, ["mgm", "params"]))
    assert sum(r.networks_built for r in again) == 0
    assert [r.values for r in again] == [r.values for r in first]


def test_a_cached_pool_is_read_without_starting_workers(cifar_ds, tmp_path, monkeypatch):
    pool = space.sample(40, seed=3)
    batch, settings = scorer.make_batch(cifar_ds, 8, 0, NB201), scorer.ScoreSettings(n=8)
    first = list(_scorer(cifar_ds, tmp_path).score_pool(pool[:30], ["mgm", "params"]))

    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes started for cached cells")
    monkeypatch.setattr(backends, "_parallel", no_workers)
    again = list(backends.LocalBackend(NB201, "cpu", workers=2).score(
        pool[:30], ["mgm", "params"], batch, settings, ScoreCache(tmp_path)))
    assert {r.index: r.values for r in again} == {r.index: r.values for r in first}
    assert sum(r.networks_built for r in again) == 0
    mixed = list(backends.LocalBackend(NB201, "cpu", workers=1).score(
        pool, ["mgm"], batch, settings, ScoreCache(tmp_path)))
    assert sorted(r.index for r in mixed) == sorted(pool)
    assert sum(r.networks_built for r in mixed) > 0  # the 10 new cells were computed
    assert all(r.networks_built == 0 for r in mixed if r.index in pool[:30])


def test_equivalent_cells_share_one_network(cifar_ds, tmp_path):
    assert space.canonical(space.arch_at(SAME_A)) == space.canonical(space.arch_at(SAME_B))
    scorer = _scorer(cifar_ds, tmp_path)
    a = scorer.score(SAME_A, ["mgm", "params"])
    b = scorer.score(SAME_B, ["mgm", "params"])
    assert a.values["mgm"] == b.values["mgm"]
    assert a.values["params"] != b.values["params"]  # counts the exact cell, never shared
    assert b.networks_built == 1  # only params needed a new network


def test_scores_depend_on_seed_and_settings_not_on_order(cifar_ds, tmp_path):
    pool = space.sample(3, seed=2)
    forward = {r.index: r.values["mgm"] for r in _scorer(cifar_ds, tmp_path / "a").score_pool(pool, ["mgm"])}
    backward = {r.index: r.values["mgm"] for r in _scorer(cifar_ds, tmp_path / "b").score_pool(pool[::-1], ["mgm"])}
    assert forward == backward
    other_seed = _scorer(cifar_ds, tmp_path / "a", seed=1).score(pool[0], ["mgm"])
    assert other_seed.networks_built == 1 and other_seed.values["mgm"] != forward[pool[0]]
    subset = _scorer(cifar_ds, tmp_path / "a", params="first:11:50").score(pool[0], ["mgm"])
    assert subset.networks_built == 1 and subset.values["mgm"] < forward[pool[0]]


def test_cache_keys_name_everything_a_score_depends_on(cifar_ds):
    batch = scorer.make_batch(cifar_ds, 8, 0, NB201)
    arch = space.arch_at(SAME_A)
    key = scorer.cache_key(NB201, "mgm", arch, batch, scorer.ScoreSettings(n=8))
    assert key.startswith(f"v{cache.CODE_VERSION}|mgm|")
    assert batch.digest in key and space.canonical(arch) in key
    assert key != scorer.cache_key(NB201, "mgm", arch, batch, scorer.ScoreSettings(n=8, seed=1))
    assert key != scorer.cache_key(NB201, "mgm", arch, scorer.make_batch(cifar_ds, 8, 1, NB201), scorer.ScoreSettings(n=8))
    assert space.to_str(arch) in scorer.cache_key(NB201, "params", arch, batch, scorer.ScoreSettings(n=8))


def test_several_processes_write_one_cache(shared_data, tmp_path):
    code = (
        "import sys; from knas import spaces; from knas.data import readers\n"
        "from knas.scoring import scorer; from knas.scoring.cache import ScoreCache\n"
        "ds = readers.load('npz', sys.argv[1]); s = scorer.ScoreSettings(n=4); nb = spaces.get()\n"
        "sc = scorer.Scorer(nb, scorer.make_batch(ds, 4, 0, nb), s, ScoreCache(sys.argv[2]), 'cpu')\n"
        "print(sum(r.networks_built for r in sc.score_pool(range(int(sys.argv[3]), int(sys.argv[3]) + 6), ['synflow', 'params'])))\n"
    )
    npz = str(shared_data / "cifar10" / "cifar10_small.npz")
    procs = [subprocess.Popen([sys.executable, "-c", code, npz, str(tmp_path), str(start)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for start in (100, 103)]  # overlapping pools
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    cache = ScoreCache(tmp_path)
    batch = scorer.make_batch(readers.load("npz", npz), 4, 0, NB201)
    for index in range(100, 109):
        for name in ("synflow", "params"):
            assert scorer.cache_key(NB201, name, space.arch_at(index), batch, scorer.ScoreSettings(n=4)) in cache


def test_gpu_oom_retries_in_chunks_then_on_cpu(cifar_ds):
    x, y = samples.to_tensors(cifar_ds, samples.subset(cifar_ds, 8, 0))
    net = NB201.build(space.arch_at(SAME_B), 10)
    calls = []

    def chunkable(net, x, y, chunk=None):
        calls.append(chunk)
        if chunk is None or chunk > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return 1.0

    assert scorer.call_with_oom_retry(chunkable, net, x, y, {}, chunkable=True) == 1.0
    assert calls == [None, 4, 2]

    def always(net, x, y, chunk=None):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(scorer.ScoringError, match="even one sample at a time"):
        scorer.call_with_oom_retry(always, net, x, y, {}, chunkable=True)

    devices = []

    def whole_batch_only(net, x, y):
        devices.append(x.device.type)
        if len(devices) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return 2.0

    assert scorer.call_with_oom_retry(whole_batch_only, net, x, y, {}) == 2.0
    assert devices == ["cpu", "cpu"]


def test_device_choice():
    assert scorer.resolve_device("cpu") == "cpu"
    assert scorer.resolve_device("auto") in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(scorer.ScoringError, match="no CUDA GPU"):
            scorer.resolve_device("cuda")
    with pytest.raises(scorer.ScoringError, match="unknown device"):
        scorer.resolve_device("tpu")


def test_too_many_samples_rejected(cifar_ds):
    with pytest.raises(scorer.ScoringError, match="only 5000"):
        scorer.make_batch(cifar_ds, 6000, 0, NB201)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "knas", *args], cwd=REPO, capture_output=True, text=True)


def test_score_cli_twice_and_correlate(shared_data, tmp_path):
    npz = str(shared_data / "cifar10" / "cifar10_small.npz")
    truth = str(shared_data / "nb201" / "nb201_accuracies.csv")
    args = ["score", "--dataset", "cifar10", "--data", npz, "--pool", "random:6", "--seed", "0",
            "--proxies", "synflow,params,ensemble:synflow+params", "--n", "8", "--device", "cpu",
            "--cache", str(tmp_path / "cache")]
    first = _cli(*args, "--out", str(tmp_path / "a.csv"), "--workers", "2")
    assert first.returncode == 0, first.stderr
    assert "arch/s" in first.stderr or "s/arch" in first.stderr  # the progress bar
    second = _cli(*args, "--out", str(tmp_path / "b.csv"), "--workers", "1")
    assert second.returncode == 0 and "0 networks built" in second.stderr
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert list(a.columns) == ["index", "arch_str", "synflow", "params", "ensemble:synflow+params"]
    assert a.equals(b) and list(a["index"]) == space.sample(6, 0)
    # Two worker processes and one give bitwise the same scores.
    serial = _cli(*args[:-1], str(tmp_path / "serial-cache"), "--out", str(tmp_path / "c.csv"), "--workers", "1")
    assert serial.returncode == 0, serial.stderr
    assert pd.read_csv(tmp_path / "c.csv").equals(a)
    out = _cli("correlate", str(tmp_path / "a.csv"), "--truth", truth, "--column", "cifar10_test")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["proxy", "spearman", "kendall", "nDCG", "top1%", "top5%", "top10%",
                                "regret@1", "regret@10"]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[2:-1]}
    assert set(rows) == {"synflow", "params", "ensemble:synflow+params"}
    assert lines[-1].startswith("nDCG@1000 as VKDNW reports it")
    accuracy = benchmark.load_table(truth)["cifar10_test"].reindex(a["index"]).to_numpy()
    for name, values in rows.items():
        scores = stats.oriented(a, name).to_numpy()
        assert values[2] == pytest.approx(stats.ndcg(scores, accuracy), abs=5e-4)
        first = scores == scores.max()  # the proxy's first pick, with any cell tied with it
        assert values[6] == pytest.approx(accuracy.max() - accuracy[first].max(), abs=5e-3)
        assert all(-1 <= v <= 1 for v in values[:6]) and values[6] >= values[7] == 0  # 6 cells < 10


@pytest.mark.parametrize("args, message", [
    (["--proxies", "zenith"], "unknown proxy 'zenith'"),
    (["--pool", "random:0"], "bad pool"),
    (["--pool", "range:5:2"], "bad pool"),
    (["--data", "/nonexistent"], "not found"),
    (["--dataset", "mnist"], "unknown dataset"),
])
def test_score_cli_rejects_bad_input_before_work(shared_data, tmp_path, args, message):
    base = {"--dataset": "cifar10", "--data": str(shared_data / "cifar10" / "cifar10_small.npz"),
            "--pool": "random:2", "--proxies": "params"}
    base.update(dict(zip(args[::2], args[1::2])))
    flat = [v for kv in base.items() for v in kv]
    out = _cli("score", *flat, "--cache", str(tmp_path), "--out", str(tmp_path / "x.csv"))
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_the_fast_paths_give_bitwise_the_same_scores_on_40_cells(shared_data, tmp_path):
    """The recommended ranking's proxies work on the scorer's own network and put it back
    (instead of deep-copying it), and AZ-NAS skips trainability's backward passes when only
    expressivity is asked for: on 40 cells every score is bit for bit the one of the reference
    path (a deep copy per proxy, AZ-NAS computing all of its scores), and the network is
    unchanged, weights and dtype, after each proxy."""
    import copy

    import torch

    from knas import proxies, spaces
    from knas.data import readers
    from knas.proxies import az_nas
    from knas.scoring import scorer
    from knas.scoring.cache import ScoreCache

    space = spaces.get("nb201")
    batch = scorer.make_batch(readers.load_named(
        "cifar10", shared_data / "cifar10" / "cifar10_small.npz"), 8, 0, space)
    names = ["meco", "synflow", "az_expressivity"]
    fast = scorer.Scorer(space, batch, scorer.ScoreSettings(n=8), ScoreCache(tmp_path), "cpu")
    for index in space.sample(40, 7):
        scores = fast.score(index, names).values

        def built(cell, prune):  # as the scorer builds it
            torch.manual_seed(0)
            return space.build(space.arch_at(cell), 10, prune=prune)

        exact, net = built(index, False), built(space.representative(index), True)
        before = {k: v.clone() for k, v in net.state_dict().items()}
        reference = {"meco": proxies.get("meco")(exact, batch.x, batch.y),
                     "synflow": proxies.get("synflow")(copy.deepcopy(net), batch.x, batch.y),
                     "az_expressivity": az_nas.az_nas(copy.deepcopy(net), batch.x,
                                                      batch.y)["az_expressivity"]}
        assert scores == reference, index
        proxies.get("synflow")(net, batch.x, batch.y)
        az_nas.az_nas(net, batch.x, batch.y, wanted=("az_expressivity",))
        after = net.state_dict()
        assert all(torch.equal(before[k], after[k]) and before[k].dtype == after[k].dtype
                   for k in before), index
        assert all(p.grad is None for p in net.parameters())
