"""Each proxy on real NAS-Bench-201 networks and real CIFAR-10 images."""
import math

import numpy as np
import pytest
import torch

from knas.spaces.nb201 import cells as space, costs
from knas import proxies
from knas.proxies import mgm as mgm_module
from tests.conftest import seeded_net as _net

# Varied cells: convs, pooling-only, none edges, skip-only, dead branches.
VARIED = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|none~2|",
    "|none~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
]


@pytest.fixture(scope="module")
def cifar(cifar16):
    return cifar16


def _score(name, net, x, y):
    """One catalogue entry's score; entries that share a function (AZ-NAS) get a dict from it."""
    value = proxies.get(name)(net, x, y)
    return value[name] if isinstance(value, dict) else value


def test_mgm_fast_path_equals_literal_definition_float64(cifar):
    x, y = cifar[0][:6].double(), cifar[1][:6]
    for arch in VARIED:
        # Small channel count keeps 11 x 6 single-sample passes quick; the cell is the real one.
        net = _net(arch, channels=8, n_cells=2).double()
        fast = mgm_module.mgm(net, x, y)
        literal = mgm_module.mgm_literal(net, x, y)
        assert fast > 0
        assert math.isclose(fast, literal, rel_tol=1e-9), (arch, fast, literal)
        # Chunked and parameter-subset variants obey the same definition.
        assert math.isclose(mgm_module.mgm(net, x, y, chunk=4), literal, rel_tol=1e-9)
        sub_fast = mgm_module.mgm(net, x, y, params="first:5:20")
        sub_literal = mgm_module.mgm_literal(net, x, y, params="first:5:20")
        assert math.isclose(sub_fast, sub_literal, rel_tol=1e-9)


def test_mgm_on_the_full_size_network(cifar):
    x, y = cifar
    net = _net(VARIED[0])
    value = mgm_module.mgm(net, x, y)
    literal = mgm_module.mgm_literal(net, x, y)
    assert math.isclose(value, literal, rel_tol=1e-3)  # float32 on the real 16-channel network


def test_per_sample_gradients_vmap_equals_loop_float64(cifar):
    x, y = cifar[0][:4].double(), cifar[1][:4]
    net = _net(VARIED[4], channels=8, n_cells=1).double()
    loop = mgm_module.per_sample_grads(net, x, y, "first:11:50")
    fast = mgm_module.per_sample_grads_vmap(net, x, y, "first:11:50")
    assert loop.shape == fast.shape == (4, 550)
    assert torch.allclose(loop, fast, rtol=1e-9, atol=1e-14)


def test_mgm_official_is_a_centred_half_split_product(cifar):
    x, y = cifar[0][:8].double(), cifar[1][:8]
    net = _net(VARIED[0], channels=8, n_cells=1).double()
    g = mgm_module.per_sample_grads(net, x, y, "first:11:50")
    a, b = g[:4] - g[:4].mean(0), g[4:] - g[4:].mean(0)
    expected = float((a * b).sum() / 2500)
    assert math.isclose(proxies.get("mgm_official")(net, x, y), expected, rel_tol=1e-9)
    # It removes the mean gradient MGM measures: adding a constant to every sample's gradient
    # changes MGM but not this statistic.
    shift = torch.ones(g.shape[1], dtype=g.dtype)
    a2, b2 = (g[:4] + shift) - (g[:4] + shift).mean(0), (g[4:] + shift) - (g[4:] + shift).mean(0)
    assert torch.allclose(a, a2) and torch.allclose(b, b2)
    with pytest.raises(ValueError, match="even number"):
        proxies.get("mgm_official")(net, x[:5], y[:5])


@pytest.mark.parametrize("name", [n for n in proxies.CATALOG])
def test_every_proxy_gives_a_finite_deterministic_number(name, cifar):
    x, y = cifar
    arch = VARIED[0]
    first = _score(name, _net(arch, seed=3), x, y)
    second = _score(name, _net(arch, seed=3), x, y)
    assert isinstance(first, float) and math.isfinite(first)
    assert first == pytest.approx(second, rel=1e-5)


def test_proxies_do_not_change_the_network(cifar):
    x, y = cifar
    net = _net(VARIED[0])
    before = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    for name in proxies.CATALOG:
        proxies.get(name)(net, x, y)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(not hasattr(m, "forward") or "forward" not in vars(m) for m in net.modules())


def test_counts_equal_closed_form(cifar):
    x, y = cifar
    arch = space.parse(VARIED[0])
    net = _net(arch)
    assert proxies.get("params")(net, x, y) == costs.count_params(arch)
    assert proxies.get("flops")(net, x, y) == costs.count_flops(arch)


def test_synflow_is_data_free_and_positive(cifar):
    x, y = cifar
    net = _net(VARIED[0])
    a = proxies.get("synflow")(net, x, y)
    b = proxies.get("synflow")(net, torch.randn_like(x), torch.zeros_like(y))
    assert a == b and a > 0


def test_bigger_network_scores_higher_on_size_proxies(cifar):
    x, y = cifar
    small, big = _net(("none",) * 6), _net(("nor_conv_3x3",) * 6)
    for name in ("params", "flops", "synflow"):
        assert proxies.get(name)(big, x, y) > proxies.get(name)(small, x, y), name


def test_naswot_kernel_is_full_rank_on_distinct_images(cifar):
    x, y = cifar
    value = proxies.get("naswot")(_net(VARIED[0]), x, y)
    # log|K| of a 16x16 kernel with diagonal = number of ReLU units: finite and large.
    assert math.isfinite(value) and value > 16


def test_unknown_proxy_message_lists_the_choices():
    with pytest.raises(proxies.UnknownProxyError, match="available: mgm, mgm_official"):
        proxies.get("no_such_proxy")


def test_catalogue_is_torch_free():
    import subprocess
    import sys

    code = "import sys, knas.proxies, knas.results.stats; print(sorted(knas.proxies.CATALOG)); assert 'torch' not in sys.modules"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "mgm" in out.stdout


def test_rank_ensemble_and_stats():
    import pandas as pd

    from knas.results import stats

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 3.0, 2.0, 1.0], "c": [1.0, 2.0, 3.0, 5.0]})
    assert list(stats.rank_ensemble(frame, ["a", "c"])) == [0.25, 0.5, 0.75, 1.0]
    assert stats.rank_ensemble(frame, ["a", "b"]).nunique() == 1
    truth = np.array([10.0, 20.0, 30.0, 40.0])
    assert stats.spearman(frame["a"], truth) == pytest.approx(1.0)
    assert stats.kendall(frame["b"], truth) == pytest.approx(-1.0)
    assert stats.spearman([1, 2, np.nan, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert stats.top_overlap(list(range(20)), list(range(20))) == 1.0
    assert stats.top_overlap(list(range(20)), list(range(20, 0, -1))) == 0.0


def test_degenerate_cells_get_worst_case_scores_not_errors(cifar):
    x, y = cifar
    empty, live = _net(("none",) * 6), _net(VARIED[0])
    for name, meta in proxies.CATALOG.items():
        worst, good = _score(name, empty, x, y), _score(name, live, x, y)
        assert not math.isnan(worst), name
        # gram_coherence is scale-free: the empty cell's head-bias gradients agree as much as the
        # batch's labels make them, not necessarily less than a live cell's.
        if name not in ("params", "flops", "mgm", "mgm_official", "grasp", "gram_coherence"):
            assert (worst < good) if meta.bigger_is_better else (worst > good), name
