"""BOHB (``knas.search.strategies``): TPE sampling with Hyperband's epoch budgets, each trial a
real NAS-Bench-201 network trained on the real CIFAR-10 subset and stopped early when weak."""
import dataclasses
import itertools

import numpy as np
import pytest

from knas.data import readers
from knas.search import classic, strategies, train
from knas.search.config import SearchConfig
from knas.search.pipeline import Search
from knas.scoring.cache import ScoreCache
from tests.conftest import NB201

TRIALS = 8  # trials taken from each run: a few seconds of training each on a CPU


@pytest.fixture(scope="module")
def cifar(shared_data):
    return readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")


def _oracle(cifar) -> classic.TrainingOracle:
    """Three-epoch runs on 32 images, validated on 100: enough to tell cells apart at epoch 1."""
    settings = train.settings_for(NB201, epochs=3, batch_size=32, train_samples=32,
                                  val_fraction=0.02, seed=0)
    return classic.TrainingOracle(NB201, "cifar10", cifar, settings)


def _trials(cifar, seed: int) -> list[classic.Evaluation]:
    """The first TRIALS trials of a seeded run (its budget never binds)."""
    run = classic.search("bohb", _oracle(cifar), seed, budget=1e9)
    records = list(itertools.islice(run, TRIALS))
    run.close()
    return records


@pytest.fixture(scope="module")
def trials(cifar):
    return _trials(cifar, seed=0)


def test_weak_candidates_are_stopped_early_below_the_survivors_of_their_rung(trials):
    pruned = [r for r in trials if r.details["pruned"]]
    full = [r for r in trials if not r.details["pruned"]]
    assert pruned and full
    for record in trials:
        curve = record.details["curve"]
        assert record.details["epochs"] == len(curve) and record.reward == curve[-1]
    for record in pruned:
        rung = record.details["epochs"]
        assert rung < 3  # stopped before the full budget, so it cost fewer epochs
        earlier = [r.details["curve"][rung - 1] for r in trials[:record.step - 1]
                   if r.details["epochs"] >= rung]
        assert record.reward < max(earlier)  # an earlier trial did better at that rung
    assert sum(r.seconds for r in trials) == pytest.approx(trials[-1].clock)  # pruned ones too


def test_its_cell_is_the_best_trial_trained_for_the_full_budget(trials):
    full = [r for r in trials if not r.details["pruned"]]
    best = max(full, key=lambda r: (r.reward, -r.step))
    assert trials[-1].best_index == best.index and trials[-1].best_reward == best.reward


def test_same_seed_same_trials_and_cell(cifar, trials):
    again = _trials(cifar, seed=0)
    assert [(r.index, r.details["curve"]) for r in again] == \
        [(r.index, r.details["curve"]) for r in trials]
    assert again[-1].best_index == trials[-1].best_index


def test_refused_on_a_table_and_with_bad_options(shared_data, cifar):
    from knas.data import benchmark

    table = benchmark.load_table(shared_data / "nb201" / "nb201_12epoch.csv", NB201)
    costs = benchmark.load_table(shared_data / "nb201" / "nb201_costs.csv", NB201)
    simulated = classic.table_oracle(NB201, "cifar10", table, costs)
    with pytest.raises(classic.ClassicError, match="needs accuracies after each epoch.*trains "
                                                   "cells for real"):
        classic.search("bohb", simulated, 0)
    oracle = _oracle(cifar)
    for options, message in [({"min_epochs": 0}, "min_epochs must be an integer >= 1"),
                             ({"max_epochs": 2.5}, "max_epochs must be an integer >= 1"),
                             ({"reduction_factor": 1}, "reduction_factor must be an integer >= 2"),
                             ({"brackets": 3}, "no option")]:
        with pytest.raises(classic.ClassicError, match=message):
            classic.search("bohb", oracle, 0, budget=10.0, **options)
    with pytest.raises(classic.ClassicError, match="min_epochs .4. is more than max_epochs .3."):
        next(classic.search("bohb", oracle, 0, budget=10.0, min_epochs=4))
    with pytest.raises(classic.ClassicError, match="give a budget in seconds"):
        classic.search("bohb", oracle, 0)
    assert strategies.trains_for_real("bohb", NB201) and not strategies.trains_for_real("rs", NB201)


@pytest.fixture
def tiny_cifar(cifar, tmp_path):
    """200 training and 50 test images of the shared subset: 12-epoch trials in about a second."""
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=cifar.images[:200], y_train=cifar.labels[:200],
             x_test=cifar.images[200:250], y_test=cifar.labels[200:250])
    return path


def test_config_wants_a_budget_and_no_short_table(shared_data, tiny_cifar):
    config = SearchConfig(data=str(tiny_cifar), pool="random:4", proxy="params", k=2, n=2,
                          truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
                          baselines=("bohb",))
    errors = config.errors()
    assert set(errors) == {"budget"} and "trains cells for real" in errors["budget"]
    assert dataclasses.replace(config, budget=3.0).errors() == {}  # no 12-epoch or costs table


def test_pipeline_trains_bohb_for_real_on_nb201_and_reports_its_cell(shared_data, tiny_cifar,
                                                                      tmp_path, truth):
    config = SearchConfig(data=str(tiny_cifar), pool="random:4", proxy="params", k=2, n=2,
                          truth=str(shared_data / "nb201" / "nb201_accuracies.csv"),
                          baselines=("bohb",), fine="lookup:cifar10_valid", budget=2.0,
                          train_samples=16)
    search = Search(config, ScoreCache(tmp_path), workers=1)
    events = list(search.events())
    assert isinstance(search.oracles["bohb"], classic.TrainingOracle)
    assert search.oracles["bohb"].epochs == NB201.short_epochs == 12
    result = next(r for r in search.results if r.method == "bohb")
    evaluated = [e for e in events if e.kind == "evaluated" and e.method == "bohb"]
    assert len(evaluated) == result.networks_trained > 0 and not result.simulated
    assert result.search_seconds == evaluated[-1].clock >= 2.0  # measured, the last one past it
    assert result.chosen == evaluated[-1].best_index
    assert result.test_accuracy == truth.at[result.chosen, "cifar10_test"]


def test_new_search_offers_bohb_and_says_it_trains_for_real(with_data):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("pages/new_search.py").run()
    baselines = at.multiselect(key="ns_baselines")
    assert "bohb — BOHB (TPE with Hyperband's epoch budgets) (real training, train-then-test)" \
        in baselines.options
    baselines.set_value(["bohb"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("bohb needs accuracies after each epoch" in c.value for c in at.caption)
    assert any("trains cells for real" in e.value for e in at.error)  # no budget yet
    assert at.button(key="ns_start").disabled
    at.number_input(key="ns_budget").set_value(60.0).run()
    assert not at.error and not at.button(key="ns_start").disabled
