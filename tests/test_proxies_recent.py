"""AZ-NAS, ZiCo and MeCo on real NAS-Bench-201 networks and real CIFAR-10 images: each against a
literal float64 NumPy reading of its definition, plus the properties that follow from it."""
import copy
import math

import numpy as np
import pytest
import torch

from knas.data import readers, samples
from knas import errors, proxies
from knas.spaces.nb201 import cells as space, costs, nets
from knas.proxies import az_nas as az
from knas.proxies import meco as meco_module
from knas.proxies import zico as zico_module

CONVS = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
CUT_CONV = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"  # a conv of zeros: output 0
IDENTITY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
# The same function at initialisation: node 1's conv feeds only `none` edges in DEAD.
DEAD = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
LIVE = "|none~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def cifar(shared_data):
    ds = readers.load_named("cifar10", shared_data / "cifar10" / "cifar10_small.npz")
    return samples.to_tensors(ds, samples.subset(ds, 8, seed=0))


def _net(arch, seed=0, double=False, channels=8, n_cells=1):
    torch.manual_seed(seed)
    net = nets.build(space.parse(arch), channels=channels, n_cells=n_cells)
    return net.double() if double else net


# ---------------------------------------------------------------- AZ-NAS


def _entropy_literal(feature: np.ndarray) -> float:
    rows = feature.transpose(0, 2, 3, 1).reshape(-1, feature.shape[1])
    rows = rows - rows.mean(axis=0)
    eig = np.clip(np.linalg.eigvalsh(rows.T @ rows / rows.shape[0]), 0.0, None)
    p = eig / eig.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def test_az_expressivity_and_progressivity_equal_a_numpy_literal(cifar):
    x = cifar[0].double()
    for arch in (CONVS, MIXED, IDENTITY):
        net = _net(arch, double=True)
        scores = az.block_scores(net, x, torch.Generator().manual_seed(0))
        # Literal: the stem's and every block's output in a plain forward pass, float64 NumPy.
        features = []
        hooks = [m.register_forward_hook(lambda m, i, o, out=features: out.append(o.detach().numpy()))
                 for m in [net.stem, *net.cells]]
        with torch.no_grad():
            net(x)
        for h in hooks:
            h.remove()
        assert len(features) == 1 + len(net.cells) == 6
        entropies = np.array([_entropy_literal(f) for f in features])
        assert scores["az_expressivity"] == pytest.approx(entropies.sum(), rel=1e-9)
        assert scores["az_progressivity"] == pytest.approx(np.diff(entropies).min(), rel=1e-7, abs=1e-9)


def test_eigen_entropy_ignores_scale_and_channel_order(cifar):
    feature = torch.randn(4, 6, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    base = az.eigen_entropy(feature)
    assert 0 < base <= math.log(6)  # entropy of 6 probabilities
    assert az.eigen_entropy(3.7 * feature) == pytest.approx(base, rel=1e-12)
    assert az.eigen_entropy(feature[:, torch.randperm(6)]) == pytest.approx(base, rel=1e-12)
    assert math.isnan(az.eigen_entropy(torch.zeros_like(feature)))  # no variance: ranked last


def _trainability_literal(g_in: np.ndarray, g_out: np.ndarray) -> float:
    # Per output position, the input gradients of the r x r input pixels it covers, stacked as
    # channel c*r*r + i*r + j (pixel unshuffle), outer product with the output gradient, averaged.
    n, c_out, h, w = g_out.shape
    r = g_in.shape[-1] // w
    mat = np.zeros((g_in.shape[1] * r * r, c_out))
    for b in range(n):
        for u in range(h):
            for v in range(w):
                patch = g_in[b, :, u * r:(u + 1) * r, v * r:(v + 1) * r].reshape(-1)
                mat += np.outer(patch, g_out[b, :, u, v])
    s = np.linalg.svd(mat / (n * h * w), compute_uv=False).max()
    return 2 - s - 1 / (s + 1e-6)


def test_az_trainability_term_equals_the_per_position_definition():
    gen = torch.Generator().manual_seed(2)
    for in_shape, out_shape in [((3, 4, 6, 6), (3, 5, 6, 6)), ((3, 4, 6, 6), (3, 8, 3, 3))]:
        g_in = torch.randn(in_shape, dtype=torch.float64, generator=gen)
        g_out = torch.randn(out_shape, dtype=torch.float64, generator=gen)
        term = az.jacobian_term(g_in, g_out)
        assert term == pytest.approx(_trainability_literal(g_in.numpy(), g_out.numpy()), rel=1e-9)
        assert term <= 1e-6  # 2 - s - 1/s is at most 0 (up to the 1e-6 in 1/(s + 1e-6))
    probe = torch.randn(2, 3, 4, 4, dtype=torch.float64, generator=gen)
    assert az.jacobian_term(probe.clone(), probe) == -math.inf  # identity block
    assert az.jacobian_term(torch.zeros_like(probe), probe) == pytest.approx(2 - 1e6)  # cut block


def test_az_cut_and_identity_cells_rank_last(cifar):
    x, y = cifar
    for cut in (EMPTY, CUT_CONV):
        empty = proxies.shared_function("az_expressivity")(_net(cut), x, y)
        # Every cell outputs zeros: constant features (NaN entropy, ranked last), and each of the
        # 3 cells' Jacobian is zero (term 2 - 1e6, finite) while the 2 reductions' are <= 1e-6.
        assert empty["az_expressivity"] == empty["az_progressivity"] == -math.inf
        assert -math.inf < empty["az_trainability"] <= (3 * (2 - 1e6) + 2e-6) / 5
    identity = proxies.shared_function("az_trainability")(_net(IDENTITY), x, y)
    assert identity["az_trainability"] == -math.inf  # the official penalty for identity blocks
    assert math.isfinite(identity["az_expressivity"])
    convs = az.az_nas(_net(CONVS), x, y)
    assert all(math.isfinite(v) for v in convs.values())
    assert convs["az_trainability"] <= 1e-6


def test_az_nas_is_seeded_data_free_and_leaves_the_network_alone(cifar):
    x, y = cifar
    net = _net(MIXED, seed=5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    first = az.az_nas(net, x, y)
    assert set(first) == {n for n, p in proxies.CATALOG.items() if p.function == "az_nas"} \
        == {"az_expressivity", "az_progressivity", "az_trainability"}
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    # Random Gaussian input as the official code: the images do not matter, only their shape.
    assert az.az_nas(_net(MIXED, seed=5), torch.randn_like(x), y) == first
    assert az.az_nas(_net(MIXED, seed=6), x, y) != first
    complexity = proxies.get("az_complexity")(net, x, y)  # the exact cell's FLOPs, no pass needed
    assert complexity == costs.count_flops(space.parse(MIXED), channels=8, n_cells=1)


def test_az_kaiming_init_has_the_official_statistics():
    net = _net(CONVS, channels=16, n_cells=1)
    before = net.cells[3].conv_b[1].weight.detach().clone()
    az.kaiming_normal_(net, torch.Generator().manual_seed(0))
    conv = net.cells[3].conv_b[1]  # the second reduction's 64 x 64 x 3 x 3 weights
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.03)
    assert abs(conv.weight.mean().item()) < 0.002
    assert not torch.equal(conv.weight, before)
    assert torch.all(net.classifier.bias == 0)


def _kaiming(net, seed):
    az.kaiming_normal_(net, torch.Generator().manual_seed(seed))
    return net


def test_az_scores_are_invariant_to_rescaling_real_input_up_to_batchnorm_eps(cifar):
    x = cifar[0]
    net = _net(MIXED)
    gen = torch.Generator
    a = az.block_scores(_kaiming(copy.deepcopy(net), 0), x, gen().manual_seed(1))
    b = az.block_scores(_kaiming(copy.deepcopy(net), 0), 3 * x, gen().manual_seed(1))
    for name in a:  # the stem's BatchNorm divides the scale out (but for its eps)
        assert b[name] == pytest.approx(a[name], rel=1e-3, abs=1e-4), name


# ---------------------------------------------------------------- ZiCo


def _zico_literal(net, x, y, batches):
    grads = []
    for xb, yb in zip(np.array_split(np.arange(len(x)), batches), np.array_split(np.arange(len(y)), batches)):
        net.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x[xb]), y[yb]).backward()
        grads.append([m.weight.grad.numpy().ravel().copy() if m.weight.grad is not None
                      else np.zeros(m.weight.numel())
                      for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))])
    total = 0.0
    for layer in zip(*grads):
        g = np.stack(layer)
        std, mean_abs = g.std(axis=0), np.abs(g).mean(axis=0)
        ratio = (mean_abs[std != 0] / std[std != 0]).sum()
        total += np.log(ratio) if ratio != 0 else 0.0
    return total


def test_zico_equals_a_numpy_literal(cifar):
    x, y = cifar[0].double(), cifar[1]
    for arch, batches in [(MIXED, 2), (CONVS, 3), (EMPTY, 2)]:
        expected = _zico_literal(_net(arch, double=True), x, y, batches)
        got = zico_module.zico(_net(arch, double=True), x, y, batches=batches)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), arch
    assert expected == 0.0  # EMPTY: no gradient reaches any weight


def test_zico_is_zero_when_the_mini_batches_agree(cifar):
    x, y = cifar[0][:4], cifar[1][:4]
    twice_x, twice_y = torch.cat([x, x]), torch.cat([y, y])
    # Identical mini-batches give identical gradients: no weight varies, every layer is skipped.
    assert zico_module.zico(_net(MIXED), twice_x, twice_y) == 0.0
    assert zico_module.zico(_net(MIXED), x, y) > 0


def test_zico_needs_two_non_empty_mini_batches(cifar):
    x, y = cifar
    with pytest.raises(zico_module.ZiCoSamplesError, match="got 1 sample"):
        zico_module.zico(_net(MIXED), x[:1], y[:1])
    with pytest.raises(errors.KnasError, match="3 mini-batches"):
        zico_module.zico(_net(MIXED), x[:2], y[:2], batches=3)
    with pytest.raises(zico_module.ZiCoSamplesError):
        zico_module.zico(_net(MIXED), x, y, batches=1)


# ---------------------------------------------------------------- MeCo


def _least_eigenvalue_literal(feature: np.ndarray) -> float:
    rows = feature.reshape(feature.shape[0], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(rows)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    return float(np.linalg.eigvalsh(corr).min())


def test_meco_equals_a_numpy_literal_over_the_hooked_feature_maps(cifar):
    x, y = cifar
    for arch in (CONVS, MIXED, EMPTY):
        net = _net(arch)
        counts = net.meco_multiplicity()
        captured = []
        hooks = [m.register_forward_hook(
            lambda m, i, o, c=c, out=captured: out.append((c, o[0].detach().numpy())))
                 for m, c in counts.items()]
        with torch.no_grad():
            net(x[:1])
        for h in hooks:
            h.remove()
        expected = sum(c * _least_eigenvalue_literal(f.astype(np.float64)) for c, f in captured)
        assert meco_module.meco(net, x, y) == pytest.approx(expected, rel=1e-9, abs=1e-12), arch


def test_meco_multiplicities_follow_the_official_model_nesting():
    # Official nasbench2 model: stem conv 1 + BN 3 (stem, its Sequential, BN); per conv op ReLU 1,
    # conv 1, BN 3 (ReLUConvBN, .op, BN); pooling 2 (POOLING, AvgPool2d); skip 1; cell output 1,
    # 2 at a stage's end (stage Sequential); a reduction 1 + 2 x 5 (its ReLUConvBNs) + avg pool 1 +
    # shortcut conv 2; lastact BN 1, ReLU 2; pooled features and logits contribute 0.
    per_cell = {CONVS: 5 * 5 + 2 + 1, MIXED: 3 * 5 + 2 + 2 * 1 + 1}
    for arch, cell in per_cell.items():
        counts = _net(arch, n_cells=5).meco_multiplicity()
        assert sum(counts.values()) == 4 + 15 * cell + 3 + 2 * 14 + 3


def test_meco_uses_one_image_and_ignores_feature_scale(cifar):
    x, y = cifar
    net = _net(MIXED)
    value = meco_module.meco(net, x, y)
    assert meco_module.meco(net, torch.cat([x[:1], x.flip(0)[:-1]]), y) == value  # only x[0] counts
    assert meco_module.meco(net, x[1:], y) != value
    # Every correlation matrix is PSD with unit diagonal (or zero rows): least eigenvalue in [0, 1].
    total = sum(net.meco_multiplicity().values())
    assert 0 < value <= total
    f = torch.randn(6, 7, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    base = meco_module.least_eigenvalue(f)
    assert meco_module.least_eigenvalue(2.5 * f + 1) == pytest.approx(base, rel=1e-9)
    assert meco_module.least_eigenvalue(f[torch.randperm(6)]) == pytest.approx(base, rel=1e-9)
    assert meco_module.least_eigenvalue(torch.zeros(4, 3, 3)) == 0.0  # NaN correlations -> 0


# ---------------------------------------------------------------- shared


def test_dedup_flags_match_what_each_score_depends_on(cifar):
    """DEAD and LIVE compute the same function; with the shared weights equal, the scores that
    only see that function agree exactly, and MeCo (which hooks the dead conv too) does not."""
    x, y = cifar
    assert space.canonical(space.parse(DEAD)) == space.canonical(space.parse(LIVE))
    dead, live = _net(DEAD), _net(LIVE)
    live.load_state_dict({k: v for k, v in dead.state_dict().items() if k in live.state_dict()})
    gen = torch.Generator
    assert az.block_scores(dead, x, gen().manual_seed(0)) == az.block_scores(live, x, gen().manual_seed(0))
    assert zico_module.zico(dead, x, y) == zico_module.zico(live, x, y)
    assert meco_module.meco(dead, x, y) != meco_module.meco(live, x, y)
    assert [proxies.info(n).dedup for n in ("az_expressivity", "az_progressivity", "az_trainability",
                                            "zico", "az_complexity", "meco")] == [True] * 4 + [False] * 2
