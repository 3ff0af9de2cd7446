"""The one-shot searches on NAS-Bench-201's supernet, with a tiny budget on real CIFAR-10 images
(cut to 8x8 so a test takes seconds): DARTS's and GDAS's architecture weights move, the derived
cell is a valid cell, a seed repeats, a cancelled run resumes to the same result; TE-NAS's
pruning ends with one op per edge, and each round prunes what its two measures rank first."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import knas.oneshot as oneshot
from knas import spaces
from knas.__main__ import main as cli
from knas.data import readers
from knas.oneshot import tenas

NB201 = spaces.get("nb201")
SIDE = 8


@pytest.fixture(scope="module")
def small(shared_data):
    full = readers.load_named("cifar10", shared_data / "cifar10" / "cifar10_small.npz")
    return readers.Dataset("cifar10", np.ascontiguousarray(full.images[:400, :SIDE, :SIDE]),
                           full.labels[:400], full.num_classes, full.mean, full.std)


def _run(generator):
    events = []
    while True:
        try:
            events.append(next(generator))
        except StopIteration as stop:
            return events, stop.value


def _tiny(method, **fields):
    return oneshot.OneShotSettings(method, **{"steps": 6, "batch_size": 16, "channels": 4,
                                              "n_cells": 1, "checkpoint_every": 2, **fields})


@pytest.mark.parametrize("method", ["darts", "gdas"])
def test_gradient_search_moves_the_architecture_and_derives_a_valid_cell(small, method):
    events, result = _run(oneshot.search(NB201, small, _tiny(method)))
    alphas = np.array(result.alphas)
    assert alphas.shape == (len(NB201.decisions()), len(NB201.supernet_ops))
    torch.manual_seed(0)  # the search's first draw is the initial alphas
    initial = (1e-3 * torch.randn(alphas.shape)).numpy()
    assert np.abs(alphas - initial).max() > 1e-4  # the architecture was updated
    assert [e.step for e in events] == list(range(1, 7))
    assert NB201.index_of(NB201.parse(result.arch)) == result.index
    assert result.arch == events[-1].arch
    derived = tuple(NB201.supernet_ops[int(k)] for k in alphas.argmax(axis=1))
    assert NB201.format(derived) == result.arch
    assert all(np.isfinite(result.history)) and result.seconds > 0


@pytest.mark.parametrize("method", ["darts", "gdas"])
def test_the_same_seed_gives_the_same_cell_and_weights(small, method):
    _, first = _run(oneshot.search(NB201, small, _tiny(method, seed=3)))
    _, again = _run(oneshot.search(NB201, small, _tiny(method, seed=3)))
    _, other = _run(oneshot.search(NB201, small, _tiny(method, seed=4)))
    assert (first.arch, first.alphas, first.history) == (again.arch, again.alphas, again.history)
    assert other.alphas != first.alphas


def test_gdas_runs_one_op_per_edge_and_still_trains_every_edge_weight(small):
    net = NB201.build_supernet(small.num_classes, 4, 1)
    alphas = torch.zeros(6, 5)
    alphas[:, NB201.supernet_ops.index("nor_conv_3x3")] = 5.0  # every edge live (no "none")
    alphas.requires_grad_()
    from knas.oneshot.gradient import _set_mix

    torch.manual_seed(0)
    _set_mix(net, alphas, "gdas", tau=1.0)
    assert "none" not in [NB201.supernet_ops[k] for k in net.chosen]
    assert len(net.chosen) == 6 and torch.allclose(net.mix.detach().sum(dim=1), torch.ones(6))
    ran = []
    for edge in (e for cell in net.cells if hasattr(cell, "edges") for e in cell.edges):
        for i, op in enumerate(edge.ops):
            op.register_forward_hook(lambda m, a, out, i=i: ran.append(i))
    x, y = small.tensors(np.arange(8))
    torch.nn.functional.cross_entropy(net(x), y).backward()
    assert len(ran) == 6 * 3  # one op per edge in each of the 3 cells
    assert bool((alphas.grad != 0).all())  # the soft gradient reaches every op of every edge


def test_a_cancelled_run_resumes_from_its_checkpoint_to_the_same_result(small, tmp_path):
    settings = _tiny("darts", steps=6)
    _, straight = _run(oneshot.search(NB201, small, settings))
    checkpoint = tmp_path / "darts.pt"
    seen = []
    with pytest.raises(oneshot.Cancelled, match="resumes"):
        for event in oneshot.search(NB201, small, settings, should_stop=lambda: len(seen) >= 3,
                                    checkpoint=checkpoint):
            seen.append(event)
    assert checkpoint.exists()
    events, resumed = _run(oneshot.search(NB201, small, settings, checkpoint=checkpoint))
    assert [e.step for e in events] == [4, 5, 6]
    assert (resumed.arch, resumed.alphas, resumed.history) == \
        (straight.arch, straight.alphas, straight.history)
    with pytest.raises(oneshot.OneShotError, match="another run"):
        _run(oneshot.search(NB201, small, _tiny("darts", seed=9), checkpoint=checkpoint))


def test_tenas_prunes_to_one_op_per_edge_by_its_two_measures(small, tmp_path):
    settings = oneshot.OneShotSettings.tenas_defaults(batch_size=4, repeat=1)
    events, result = _run(oneshot.search(NB201, small, settings, checkpoint=tmp_path / "t.pt"))
    mask = np.array(result.alphas)
    assert mask.sum(axis=1).tolist() == [1] * 6  # one op per edge
    assert mask[:, NB201.supernet_ops.index("none")].sum() == 0  # none is removed first
    assert len(events) == result.steps == 3  # 4 ops left per edge, one pruned per round
    assert NB201.format(tuple(NB201.supernet_ops[int(np.argmax(r))] for r in mask)) == result.arch
    left = {(e, op) for e in range(6) for op in NB201.supernet_ops if op != "none"}
    for round_ in result.history:  # each round prunes what its measures rank first on each edge
        candidates = {(e, NB201.supernet_ops.index(op)): (k, r) for e, op, k, r in round_["candidates"]}
        assert {(e, op) for e, op, _, _ in round_["candidates"]} == left
        chosen = tenas.choose(candidates)
        assert [[e, NB201.supernet_ops[o]] for e, o in chosen] == round_["pruned"]
        left -= {(e, op) for e, op in round_["pruned"]}


def test_tenas_ranking_follows_the_paper():
    """A larger NTK drop and a smaller region drop both make an op more prunable; the two ranks
    add, so an op ranked first by both is pruned, and the sum decides between the others."""
    candidates = {(0, 1): (0.30, -0.10), (0, 2): (0.10, 0.20), (0, 3): (0.20, 0.00),
                  (1, 1): (0.05, 0.50), (1, 2): (0.05, 0.40)}
    assert tenas.choose(candidates) == [(0, 1), (1, 2)]
    # ties in the summed rank go to the first op of the edge
    assert tenas.choose({(0, 1): (0.1, 0.2), (0, 2): (0.2, 0.3)}) == [(0, 1)]


def test_bad_settings_and_a_space_without_supernet_are_refused_before_any_work(small):
    for fields, message in (({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"),
                            ({"seed": -2}, "seed"), ({"method": "enas"}, "unknown one-shot")):
        with pytest.raises(oneshot.OneShotError, match=message):
            oneshot.OneShotSettings(**{"method": "darts", **fields})
    with pytest.raises(oneshot.OneShotError, match="has no supernet"):
        oneshot.search(spaces.get("text"), small, _tiny("darts")).__next__()


def test_the_command_line_runs_a_search_and_looks_up_its_cell(shared_data, tmp_path, capsys):
    data = shared_data / "cifar10" / "cifar10_small.npz"
    status = cli(["oneshot", "--method", "gdas", "--steps", "2", "--batch-size", "8",
                  "--channels", "2", "--cells", "1", "--data", str(data), "--device", "cpu",
                  "--truth", str(shared_data / "nb201" / "nb201_accuracies.csv")])
    out = capsys.readouterr()
    assert status == 0
    assert "gdas 2/2" in out.err
    cell = out.out.splitlines()[0]
    assert cell.startswith("cell |") and "s on cpu" in cell
    assert out.out.splitlines()[1].startswith("cifar10_test: ")
    for argv, message in ((["--method", "darts", "--steps", "2", "--epochs", "1"], "not both"),
                          (["--method", "tenas", "--repeat", "0"], "repeat must be"),
                          (["--method", "darts", "--checkpoint", str(tmp_path)], "is a folder")):
        assert cli(["oneshot", "--data", str(data), *argv]) == 2
        assert message in capsys.readouterr().err


def test_a_search_runs_a_one_shot_baseline_and_looks_its_cell_up(shared_data, tmp_path, monkeypatch):
    """gdas:1 as a baseline on 200 real images: two supernet steps on the benchmark's supernet,
    each an event with the cell it would derive; the derived cell then goes through the fine
    stage (a lookup) and is reported by the truth table; the run checkpointed under the cache."""
    from knas.results.headline import method_name
    from knas.scoring.cache import ScoreCache
    from knas.search.config import SearchConfig
    from knas.search.pipeline import Search

    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path / "cache"))
    full = readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")
    data = tmp_path / "tiny.npz"
    np.savez(data, x_train=full.images[:200], y_train=full.labels[:200],
             x_test=full.images[200:250], y_test=full.labels[200:250])
    truth_path = shared_data / "nb201" / "nb201_accuracies.csv"
    config = SearchConfig(data=str(data), pool="random:4", proxy="params", k=2, n=2,
                          truth=str(truth_path), baselines=("gdas:1",),
                          fine="lookup:cifar10_valid").validate()
    assert config.two_stage_methods == ["params"]
    search = Search(config, ScoreCache(tmp_path / "scores"), workers=1)
    events = list(search.events())
    steps = [e for e in events if e.kind == "evaluated" and e.method == "gdas:1"]
    assert [e.step for e in steps] == [1, 2] and all(e.steps_total == 2 for e in steps)
    result = next(r for r in search.results if r.method == "gdas:1")
    assert result.chosen == steps[-1].index == NB201.index_of(NB201.parse(result.arch_str))
    assert result.test_accuracy == search.truth.at[result.chosen, "cifar10_test"]
    assert result.fine_score == search.truth.at[result.chosen, "cifar10_valid"]
    assert result.search_seconds > 0 and not result.simulated and result.networks_trained == 0
    assert list((tmp_path / "cache" / "oneshot").glob(f"{config.key()}-gdas-1-0.pt"))
    assert method_name("gdas:1") == "GDAS (1 epoch)" and method_name("tenas") == "TE-NAS"


def test_a_space_without_supernet_refuses_one_shot_baselines_and_specs_round_trip(shared_data):
    from knas.search.config import SearchConfig
    from knas.search.specs import Method, SpecError

    for text in ("darts", "darts:3", "gdas", "gdas:250", "tenas"):
        assert str(Method.parse(text)) == text and not Method.parse(text).is_two_stage
    for text in ("tenas:2", "darts:0", "darts:x"):
        with pytest.raises(SpecError, match="bad one-shot search"):
            Method.parse(text)
    config = SearchConfig(space="text", dataset="trec", data=str(shared_data / "text" / "trec"),
                          pool="random:4", proxy="mgm", k=2, baselines=("darts:1",),
                          fine="train:1")
    assert "has no supernet" in config.errors()["baselines"]


def test_the_estimate_counts_a_one_shot_search_as_training(shared_data):
    from knas.search import estimate
    from knas.search.config import SearchConfig

    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                          truth=str(shared_data / "nb201" / "nb201_accuracies.csv"), pool="random:8",
                          proxy="params", k=2, baselines=("darts:1", "darts:2", "tenas"),
                          fine="lookup:cifar10_valid", repeats=2).validate()
    steps = {s.what: s for s in estimate.estimate(config, saved={}).steps}
    one, two = steps["darts:1"], steps["darts:2"]
    assert one.stage == two.stage == "training" and "supernet steps" in one.arithmetic
    assert two.seconds == pytest.approx(2 * one.seconds, rel=0.01) and one.seconds > 0
    assert steps["tenas"].seconds > 0 and "pruning" in steps["tenas"].arithmetic
