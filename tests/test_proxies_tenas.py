"""TE-NAS (NTK condition number, linear regions), SWAP, Zen-score and the Gram-matrix scores, on real
NAS-Bench-201 networks and real CIFAR-10 images: the properties their definitions imply."""
import math

import pytest
import torch
from torch import nn

from knas import proxies
from knas.proxies import gram as gram_module
from knas.proxies import mgm as mgm_module
from knas.proxies import ntk as ntk_module
from knas.proxies._patterns import count_distinct, pack_rows
from tests.conftest import seeded_net as _net

LIVE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
MIXED = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|nor_conv_3x3~2|"
SKIP_ONLY = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
EMPTY = ("none",) * 6


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as the scorer uses on the CPU: many small kernels (one backward pass per
    sample for the NTK) slow down badly when two threads share busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cifar(cifar16):
    return cifar16


def _small64(arch):
    """The real cell in a small skeleton (8 channels, 1 cell per stage), in float64."""
    return _net(arch, channels=8, n_cells=1).double()


# --- The Gram matrix of per-sample loss gradients -------------------------------------------

@pytest.mark.parametrize("params", ["all", "first:5:20"])
def test_gram_matrix_equals_the_literal_n_pass_computation_float64(cifar, params):
    x, y = cifar[0][:6].double(), cifar[1][:6]
    for arch in (LIVE, MIXED):
        net = _small64(arch)
        g = mgm_module.per_sample_grads(net, x, y, params)  # n separate single-sample passes
        literal = g @ g.T
        fast = gram_module.gram_matrix(net, x, y, params)
        assert fast.dtype == torch.float64 and fast.shape == (6, 6)
        assert float((fast - literal).norm() / literal.norm()) < 1e-9, arch
        # Its mean is MGM, the KNAS paper's score.
        assert math.isclose(float(fast.mean()), mgm_module.mgm(net, x, y, params), rel_tol=1e-9)


def test_gram_scores_follow_their_definitions(cifar):
    x, y = cifar[0][:6].double(), cifar[1][:6]
    net = _small64(LIVE)
    g = mgm_module.per_sample_grads(net, x, y)
    scores = gram_module.gram(net, x, y)
    mean_sq_norm = float(g.pow(2).sum(1).mean())
    assert scores["gram_trace"] == pytest.approx(mean_sq_norm, rel=1e-9)
    coherence = float(g.mean(0).pow(2).sum()) / mean_sq_norm
    assert scores["gram_coherence"] == pytest.approx(coherence, rel=1e-9)
    assert 0.0 <= scores["gram_coherence"] <= 1.0
    eig = torch.linalg.eigvalsh(g @ g.T)
    assert scores["gram_cond"] >= 1.0
    assert scores["gram_cond"] == pytest.approx(float(eig[-1] / eig[0]), rel=1e-6)
    # Each catalogue entry reads its own value out of the shared function.
    for name in scores:
        assert proxies.get(name)(net, x, y) == scores[name]


def test_gram_cond_is_infinite_when_two_samples_coincide(cifar):
    # Per-sample normalisation makes a repeated image's gradient an exact copy: G is singular.
    x, y = cifar[0][:5].double(), cifar[1][:5]
    x, y = torch.cat([x, x[:1]]), torch.cat([y, y[:1]])
    scores = gram_module.gram(_small64(LIVE), x, y)
    assert scores["gram_cond"] == math.inf
    assert 0.0 < scores["gram_coherence"] <= 1.0


def test_gram_on_the_empty_cell_scores_worst_without_nan(cifar):
    x, y = cifar
    empty, live = gram_module.gram(_net(EMPTY), x, y), gram_module.gram(_net(LIVE), x, y)
    # Only the head's bias gets a gradient (10 directions < 16 samples): G is singular.
    assert empty["gram_cond"] == math.inf and math.isfinite(live["gram_cond"])
    assert empty["gram_trace"] < live["gram_trace"]
    assert all(not math.isnan(v) for v in empty.values())


# --- TE-NAS: NTK condition number -----------------------------------------------------------

def test_ntk_is_the_gram_matrix_of_per_sample_logit_gradients_float64(cifar):
    x = cifar[0][:6].double()
    net = _small64(LIVE)
    kernel = ntk_module.ntk_matrix(net, x)
    assert kernel.shape == (6, 6) and torch.allclose(kernel, kernel.T)
    weights = [p for name, p in net.named_parameters() if "weight" in name]
    assert len(weights) < len(list(net.parameters()))  # biases are left out, as the official

    def grad_norm_sq(output):
        grads = torch.autograd.grad(output, weights, allow_unused=True)
        return sum(float(g.pow(2).sum()) for g in grads if g is not None)

    # Sum of all entries = squared norm of the gradient of the batch's summed logits; a diagonal
    # entry = squared norm of the gradient of one sample's summed logits (same batch statistics).
    assert float(kernel.sum()) == pytest.approx(grad_norm_sq(net(x).sum()), rel=1e-9)
    assert float(kernel[2, 2]) == pytest.approx(grad_norm_sq(net(x)[2].sum()), rel=1e-9)
    cond = ntk_module.te_ntk_cond(net, x, None)
    eig = torch.linalg.eigvalsh(kernel)
    assert cond >= 1.0 and cond == pytest.approx(float(eig[-1] / eig[0]), rel=1e-9)


def test_ntk_cond_of_the_empty_cell_is_infinite_not_nan(cifar):
    x, y = cifar
    assert ntk_module.te_ntk_cond(_net(EMPTY, channels=8, n_cells=1), x, y) == math.inf


# --- TE-NAS: linear regions -----------------------------------------------------------------

def test_linear_regions_are_bounded_by_the_samples_and_deterministic(cifar):
    x, y = cifar
    regions = proxies.get("te_linear_regions")
    value = regions(_net(LIVE), x, y, samples=600, batch=200)
    assert 1 < value <= 600
    assert regions(_net(LIVE, seed=5), x, y, samples=600, batch=200) == value  # own seeded init
    assert regions(_net(LIVE), x, y, samples=600, batch=200, seed=1) != value


def test_linear_regions_of_degenerate_cells(cifar):
    x, y = cifar
    regions = proxies.get("te_linear_regions")
    # No ReLU ever fires: one region.
    assert regions(_net(EMPTY), x, y) == 1.0
    # Skip-only cell: the only ReLU is the head's, on 9 units: at most 2^9 patterns. Its code is
    # sign(z - batch mean), which scaling the images by 2 leaves exactly unchanged.
    skip = regions(_net(SKIP_ONLY), x, y)
    assert 1 < skip <= 2 ** 9
    assert regions(_net(SKIP_ONLY), 2 * x, y) == skip


# --- SWAP -----------------------------------------------------------------------------------

def test_count_distinct_rows_over_several_words():
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(150, 130, generator=gen) < 0.5  # 130 bits: three packed words
    bits = torch.cat([base, base[:50], base[:1].expand(20, -1)])  # repeats add no new rows
    bits = bits[torch.randperm(len(bits), generator=gen)]
    assert len({tuple(row.tolist()) for row in bits}) == 150
    assert count_distinct(pack_rows(bits)) == 150
    assert count_distinct(pack_rows(bits[:, :40])) == len({tuple(r.tolist()) for r in bits[:, :40]})


def test_swap_is_bounded_by_the_patterns_n_samples_can_make(cifar):
    x, y = cifar
    swap = proxies.get("swap")
    assert 1 <= swap(_net(LIVE), x[:3], y[:3]) <= 2 ** 3
    assert swap(_net(EMPTY), x, y) == 1.0  # every ReLU off for every sample
    value = swap(_net(LIVE), x, y)
    assert value > 2 ** 3 and value == swap(_net(LIVE), x, y)


def test_swap_is_invariant_to_positive_input_scaling_without_bn_eps(cifar):
    # The input meets the network only through the stem's conv + BatchNorm, which removes any
    # positive scale exactly once its eps is negligible (1e-30 vanishes next to any float32
    # variance; torch refuses 0) and the scale is a power of 2 (exact in float arithmetic).
    x, y = cifar
    net = _net(LIVE)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = 1e-30
    assert proxies.get("swap")(net, 4 * x, y) == proxies.get("swap")(net, x, y)


def test_swap_reg_is_swap_times_the_size_prior(cifar):
    x, y = cifar
    net = _net(LIVE)
    plain = proxies.get("swap")(net, x, y)
    theta = sum(p.numel() for p in net.parameters()) / 1e3
    assert proxies.get("swap_reg")(net, x, y, mu=theta, sigma=1.0) == plain
    assert proxies.get("swap_reg")(net, x, y, mu=theta + 100, sigma=1e4) == pytest.approx(
        plain * math.exp(-1.0))
    assert 0 < proxies.get("swap_reg")(net, x, y) < plain  # default: prior centred on the largest cell


# --- Zen-score ------------------------------------------------------------------------------

def test_zen_is_deterministic_under_a_seed_and_data_free(cifar):
    x, y = cifar
    zen = proxies.get("zen")
    value = zen(_net(LIVE), x, y)
    assert math.isfinite(value)
    assert zen(_net(LIVE), x, y) == value
    # Weights are redrawn from N(0, 1) and inputs are Gaussian: neither the network's own
    # initialisation nor the images' values matter, only the seed.
    assert zen(_net(LIVE, seed=7), torch.randn_like(x), y) == value
    assert zen(_net(LIVE), x, y, seed=1) != value


def test_zen_leaves_the_network_untouched(cifar):
    x, y = cifar
    net = _net(LIVE)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    proxies.get("zen")(net, x, y)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_zen_measures_a_first_order_response(cifar):
    # For a small perturbation the feature map moves linearly in gamma: doubling gamma adds log 2.
    x, y = cifar
    zen = proxies.get("zen")
    step = zen(_net(MIXED), x, y, gamma=2e-3) - zen(_net(MIXED), x, y, gamma=1e-3)
    assert step == pytest.approx(math.log(2), abs=0.02)


def test_zen_of_the_empty_cell_is_minus_infinity(cifar):
    x, y = cifar
    assert proxies.get("zen")(_net(EMPTY), x, y) == -math.inf


# --- Catalogue ------------------------------------------------------------------------------

def test_shared_functions_return_exactly_their_entries(cifar):
    x, y = cifar[0][:4], cifar[1][:4]
    groups: dict[tuple, set] = {}
    for name, meta in proxies.CATALOG.items():
        groups.setdefault(meta.shared_pass, set()).add(name)
    shared = {key: names for key, names in groups.items() if len(names) > 1}
    assert shared[("gram", "gram")] == {"gram_trace", "gram_cond", "gram_coherence"}
    for names in shared.values():
        net = _net(LIVE, channels=8, n_cells=1)
        result = proxies.shared_function(min(names))(net, x, y)
        if isinstance(result, dict):
            assert set(result) == names
        else:  # one value under several names (AZ-NAS's complexity is the cell's FLOPs)
            assert all(proxies.get(name)(net, x, y) == result for name in names)
    assert proxies.info("swap").shared_pass != proxies.info("swap_reg").shared_pass  # one module, two functions
