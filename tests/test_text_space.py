"""The text cell space: its grammar, its networks (padding never changes an output, MGM exact),
the standard head, and the settings a text search is refused for."""
import math

import pytest
import torch

from knas import spaces
from knas.proxies import mgm as mgm_module
from knas.results import cellsvg
from knas.search.config import SearchConfig
from knas.spaces.text import nets

SPACE = spaces.get("text")
BUSY = "|attention~0|+|conv3~0|pool3~1|+|skip~0|attention~1|conv3~2|"


def _padded_batch(lengths, longest, width=384, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), longest, width, generator=g)
    for row, n in enumerate(lengths):
        x[row, n:] = 0
    return x


def test_every_cell_round_trips_through_its_arch_string():
    assert SPACE.size == 5 ** 6
    for index in (0, 1, 777, 6111, SPACE.size - 1):
        text = SPACE.format(index)
        assert SPACE.index_of(SPACE.parse(text)) == index
    with pytest.raises(spaces.ArchError, match="did you mean attention"):
        SPACE.parse(BUSY.replace("attention~0", "atention~0"))
    with pytest.raises(spaces.ArchError, match="input node must be 1"):
        SPACE.parse(BUSY.replace("pool3~1", "pool3~2"))


def test_cells_computing_the_same_function_share_one_representative():
    only_skip = SPACE.index_of("|none~0|+|none~0|none~1|+|skip~0|none~1|none~2|")
    dead_branch = SPACE.index_of("|conv3~0|+|none~0|none~1|+|skip~0|none~1|none~2|")
    assert SPACE.canonical(only_skip) == SPACE.canonical(dead_branch) == "x"
    assert SPACE.representative(dead_branch) == SPACE.representative(only_skip)
    assert SPACE.live(dead_branch) == (False, False, False, True, False, False)
    two_convs = SPACE.index_of("|conv3~0|+|conv3~0|none~1|+|none~0|skip~1|skip~2|")
    assert SPACE.canonical(two_convs) == "conv3(x)+conv3(x)"  # two weights, not one


@pytest.mark.parametrize("arch", [BUSY, 0, 6111, SPACE.size - 1])
def test_parameter_count_in_closed_form_matches_the_network(arch):
    for classes in (2, 6):
        net = SPACE.build(arch, classes)
        assert sum(p.numel() for p in net.parameters()) == SPACE.count_params(arch, classes)


def test_padding_never_changes_an_output():
    torch.manual_seed(0)
    net = SPACE.build(BUSY, 3).eval()
    lengths = [10, 7, 3, 1]
    x = _padded_batch(lengths, 10)
    with torch.no_grad():
        batched = net(x)
        more_padding = net(torch.cat([x, torch.zeros(4, 6, 384)], dim=1))
        one_by_one = torch.cat([net(x[row:row + 1, :n]) for row, n in enumerate(lengths)])
    assert torch.allclose(batched, more_padding, atol=1e-5)
    assert torch.allclose(batched, one_by_one, atol=1e-5)
    head = nets.StandardHead(384, 3).eval()
    with torch.no_grad():
        assert torch.allclose(head(x), torch.cat([head(x[r:r + 1, :n])
                                                  for r, n in enumerate(lengths)]), atol=1e-5)


def test_mgm_one_pass_equals_the_per_sample_definition_on_a_text_cell():
    """LayerNorm keeps samples independent, so the batched pass is exact (the KNAS definition:
    the mean of the Gram matrix of per-sample gradients)."""
    torch.manual_seed(1)
    net = SPACE.build(BUSY, 2)
    x, y = _padded_batch([8, 5, 3, 8, 2, 6], 8, seed=2), torch.tensor([0, 1, 1, 0, 1, 0])
    grads = mgm_module.per_sample_grads(net, x, y)
    literal = float((grads @ grads.T).mean())
    assert math.isclose(mgm_module.mgm(net, x, y), literal, rel_tol=1e-4)


def test_a_text_cell_draws_as_a_diagram():
    svg = cellsvg.cell_svg(SPACE, SPACE.index_of(BUSY))
    assert "attention" in svg and "conv k3" in svg and "pool" in svg


def test_text_searches_are_checked_before_any_work(tmp_path):
    base = dict(space="text", dataset="sst2", data=str(tmp_path), pool="random:10", k=2,
                fine="train:1")
    errors = SearchConfig(**{**base, "dataset": "cifar10"}).errors()
    assert "dataset" in errors and "sst2" in errors["dataset"]
    lookup = SearchConfig(**{**base, "fine": "lookup:acc"}, baselines=("standard_head",)).errors()
    assert "train:EPOCHS" in lookup["baselines"]
    image = SearchConfig(space="nb201", dataset="cifar10", data=str(tmp_path), fine="train:1",
                         baselines=("standard_head",)).errors()
    assert "no reference network" in image["baselines"]
