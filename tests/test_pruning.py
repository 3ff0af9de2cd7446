"""Pruned networks (``nets.build(..., prune=True)``) against full ones, on real CIFAR-10 images."""
import pytest
import torch

from knas.data import readers, samples
from knas.spaces.nb201 import cells as space, costs, nets, pruning
from knas import proxies
from knas.proxies import mgm as mgm_module

# Does pruning leave the proxy's score unchanged? One fact per catalogue entry (the lead puts it
# on ``ProxyInfo``); NASWOT counts the ReLUs of dead edges too, so pruning changes it.

DEAD_CONVS = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|"
# Node 1 carries zeros (no input) yet its convs reach the output; node 2 is dead.
ZERO_FED_AND_DEAD = "|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
ZERO_FED_CHAIN = "|none~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"
DEAD_POOL_AND_SKIP = "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|none~2|"
# Every edge dead: the cell outputs zeros, the network a constant.
OUTPUT_IGNORES_INPUT = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SKIP_ONLY_DEAD = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|none~1|none~2|"
SKIP_ONLY = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
CELLS = [DEAD_CONVS, ZERO_FED_AND_DEAD, ZERO_FED_CHAIN, DEAD_POOL_AND_SKIP, OUTPUT_IGNORES_INPUT,
         ALL_NONE, SKIP_ONLY_DEAD, SKIP_ONLY]


@pytest.fixture(scope="module")
def cifar(shared_data):
    ds = readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")
    return samples.to_tensors(ds, samples.subset(ds, 8, seed=0))


@pytest.fixture(scope="module")
def cifar32(shared_data):
    """Enough samples that activation-pattern counts (at most 2^n) do not saturate."""
    ds = readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")
    return samples.to_tensors(ds, samples.subset(ds, 32, seed=0))


def _pair(arch, dtype=torch.float32, **size):
    """The full and the pruned network of a cell, built from the same seed."""
    built = []
    for prune in (False, True):
        torch.manual_seed(0)
        built.append(nets.build(arch, prune=prune, **size).to(dtype))
    return built


def _relative(a, b):
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))




def test_rule_keeps_zero_fed_edges_that_reach_the_output():
    assert pruning.computed_edges(DEAD_CONVS) == (False, False, False, True, False, False)
    # (3<-1) conv reads the zero node 1 but reaches the output: kept, unlike space.live_edges.
    assert pruning.computed_edges(ZERO_FED_AND_DEAD) == (False, False, False, True, True, False)
    assert space.live_edges(ZERO_FED_AND_DEAD) == (False, False, False, True, False, False)
    assert pruning.computed_edges(ZERO_FED_CHAIN) == (False, False, True, True, True, True)
    assert pruning.computed_edges(OUTPUT_IGNORES_INPUT) == (False,) * 6
    assert pruning.computed_edges(ALL_NONE) == (False,) * 6
    assert pruning.computed_edges(SKIP_ONLY) == (True,) * 6
    assert pruning.nodes_reaching_output(SKIP_ONLY_DEAD) == {0, 3}


def test_zero_fed_conv_gets_a_bias_gradient(cifar):
    # Why zero-fed edges are kept: ReLU-Conv-BN of zeros is BN's bias, which the loss reaches.
    x, y = cifar
    _, net = _pair(ZERO_FED_AND_DEAD)
    mgm_module.mgm(net, x, y)
    zero_fed_bn = net.cells[0].edges[4][2]  # edge (3<-1), its BatchNorm
    assert zero_fed_bn.bias.grad is not None and zero_fed_bn.bias.grad.abs().sum() > 0
    assert torch.count_nonzero(net.cells[0].edges[4][1].weight.grad) == 0  # its conv sees zeros
    assert net.cells[0].edges[1][1].weight.grad is None  # dead (2<-0) conv: no gradient at all


def test_pruned_network_has_the_full_networks_parameters():
    for arch in CELLS:
        full, pruned = _pair(arch)
        a, b = full.state_dict(), pruned.state_dict()
        assert list(a) == list(b)
        assert all(torch.equal(a[k], b[k]) for k in a), arch
        assert [p.shape for p in full.parameters()] == [p.shape for p in pruned.parameters()]


def test_pruned_network_skips_exactly_the_dead_convs(cifar):
    x, _ = cifar
    for arch in CELLS:
        full, pruned = _pair(arch)
        counted = []
        for net in (full, pruned):
            macs = 0

            def hook(module, inputs, output):
                nonlocal macs
                if isinstance(module, torch.nn.Conv2d):
                    macs += module.weight.numel() * output.shape[2] * output.shape[3]
                else:
                    macs += module.weight.numel() + module.out_features

            handles = [m.register_forward_hook(hook) for m in net.modules()
                       if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
            net(x[:1])
            for h in handles:
                h.remove()
            counted.append(macs)
        assert counted == [costs.count_flops(arch), pruning.pruned_flops(arch)], arch
    assert pruning.pruned_flops(DEAD_CONVS) < costs.count_flops(DEAD_CONVS)


@pytest.mark.parametrize("name", list(proxies.CATALOG))
def test_pruning_leaves_prunable_proxies_unchanged(name, cifar, cifar32):
    fn = proxies.get(name)
    x, y = cifar
    if not proxies.info(name).prunable:
        full, pruned = _pair(DEAD_CONVS)
        assert fn(full, *cifar32) != fn(pruned, *cifar32)  # the fact False is needed
        return
    for arch in CELLS:
        full, pruned = _pair(arch, torch.float64, channels=8, n_cells=2)
        assert _relative(fn(full, x.double(), y), fn(pruned, x.double(), y)) <= 1e-12, arch
        full, pruned = _pair(arch)
        assert _relative(fn(full, x, y), fn(pruned, x, y)) <= 1e-6, arch


def test_mgm_parameter_subsets_and_literal_definition_unchanged(cifar):
    x, y = cifar
    for arch in (DEAD_CONVS, ZERO_FED_AND_DEAD):
        full, pruned = _pair(arch, torch.float64, channels=8, n_cells=1)
        xd = x[:4].double()
        for params in ("first:5:20", "first:11:50"):
            assert _relative(mgm_module.mgm(full, xd, y[:4], params=params),
                             mgm_module.mgm(pruned, xd, y[:4], params=params)) <= 1e-12
        assert _relative(mgm_module.mgm_literal(full, xd, y[:4]),
                         mgm_module.mgm_literal(pruned, xd, y[:4])) <= 1e-12

