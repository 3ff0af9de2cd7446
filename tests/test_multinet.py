"""Several networks in flight give the scores of the one-at-a-time path (real networks, real images)."""
import pytest
import torch

from knas.data import readers
from knas.scoring import multinet, scorer
from knas.spaces.nb201 import nets, cells as space
from knas.proxies import mgm
from tests.conftest import NB201

# Random cells plus two with dead branches (pruning must not change MGM either).
CELLS = space.sample(2, seed=5) + [
    space.index_of("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|"),
    space.index_of("|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"),
]


@pytest.fixture(scope="module")
def batch(shared_data):
    return scorer.make_batch(readers.load_named("cifar10", shared_data / "cifar10" / "cifar10_small.npz"),
                              8, seed=0, space=NB201)


@pytest.fixture(scope="module")
def scorer_values(batch):
    """What ``scorer.Scorer`` computes today: seed, build, score, read out, cell by cell."""
    values = []
    for index in CELLS:
        torch.manual_seed(0)
        values.append(mgm.mgm(nets.build(space.arch_at(index), batch.num_classes), batch.x, batch.y))
    return values


def test_mgm_tensor_is_the_float_score_on_the_device(batch):
    torch.manual_seed(0)
    net = nets.build(space.arch_at(CELLS[0]))
    value = mgm.mgm_tensor(net, batch.x, batch.y)
    assert value.shape == () and value.dtype == torch.float64 and value.device == batch.x.device
    assert value.item() == mgm.mgm(net, batch.x, batch.y)


@pytest.mark.parametrize("in_flight,chunk_size", [(1, 64), (3, 2), (8, 64)])
def test_in_flight_scores_equal_the_one_at_a_time_path(batch, scorer_values, in_flight, chunk_size):
    values = multinet.mgm_in_flight(NB201, CELLS, batch.x, batch.y, batch.num_classes, seed=0,
                                    in_flight=in_flight, chunk_size=chunk_size)
    assert values == scorer_values


def test_pruned_networks_in_flight_give_the_same_scores(batch, scorer_values):
    values = multinet.mgm_in_flight(NB201, CELLS, batch.x, batch.y, batch.num_classes, seed=0,
                                    in_flight=4, prune=True)
    assert values == scorer_values


def test_options_reach_mgm(batch):
    subset = multinet.mgm_in_flight(NB201, CELLS[:2], batch.x, batch.y, batch.num_classes, seed=0,
                                    in_flight=2, params="first:11:50")
    torch.manual_seed(0)
    net = nets.build(space.arch_at(CELLS[0]), batch.num_classes)
    assert subset[0] == mgm.mgm(net, batch.x, batch.y, params="first:11:50")
    assert subset != multinet.mgm_in_flight(NB201, CELLS[:2], batch.x, batch.y, batch.num_classes, seed=0)


def test_the_scorer_with_networks_in_flight_matches_one_at_a_time(batch, tmp_path):
    """The Scorer's in-flight path (CUDA's default) run on the CPU: same values, same networks
    counted, same cache entries as the one-at-a-time path."""
    from knas.scoring.cache import ScoreCache

    pool = space.sample(30, 5)
    settings = scorer.ScoreSettings(n=8, seed=2)
    plain = list(scorer.Scorer(NB201, batch, settings, ScoreCache(tmp_path / "a"), "cpu")
                 .score_pool(pool, ["mgm"]))
    flying = list(scorer.Scorer(NB201, batch, settings, ScoreCache(tmp_path / "b"), "cpu",
                                 in_flight=3).score_pool(pool, ["mgm"]))
    assert [(r.index, r.values) for r in flying] == [(r.index, r.values) for r in plain]
    assert sum(r.networks_built for r in flying) == sum(r.networks_built for r in plain)
