"""Classic multi-trial searches simulated on the real NAS-Bench-201 tables, their training-cost
clock, the energy conversion and the published references."""
import math
from collections import Counter

import numpy as np
import pytest

from knas.data import benchmark, latency
from knas.results import energy, references
from knas.search import classic, strategies
from knas.spaces.nb201 import cells as space, columns, published, traincost
from tests.conftest import NB201
from knas.errors import KnasError


@pytest.fixture(scope="module")
def tables(shared_data):
    nb201 = shared_data / "nb201"
    return {"12ep": benchmark.load_table(nb201 / "nb201_12epoch.csv"),
            "costs": traincost.load_costs(nb201 / "nb201_costs.csv"),
            "200ep": benchmark.load_table(nb201 / "nb201_accuracies.csv")}


@pytest.fixture(scope="module")
def cifar10(tables):
    return classic.table_oracle(NB201, "cifar10", tables["12ep"], tables["costs"])


@pytest.fixture(scope="module")
def pixel3(shared_data):
    """Latency on Pixel 3, the second objective a multi-objective strategy needs."""
    table = latency.load(shared_data / "hw" / "nb201_latency.csv", NB201)
    return table.array("pixel3", NB201.size).__getitem__


def _second(strategy, pixel3) -> dict:
    return {"objective": pixel3} if strategies.info(strategy).objectives > 1 else {}


# --- training cost -------------------------------------------------------------------------


def test_cost_is_epochs_over_200_of_the_recorded_time(tables):
    for dataset, name in ((d.name, d.cost_column) for d in columns.BY_DATASET.values()):
        for index in (0, 6111, 15624):
            cost = traincost.train_cost(index, dataset, 12, tables["costs"])
            assert cost.seconds == pytest.approx(tables["costs"].loc[index, name] * 12 / 200)
            assert not cost.estimate
    per_epoch, estimated = traincost.seconds_per_epoch("cifar100", tables["costs"])
    assert not estimated
    assert per_epoch[42] * 200 == pytest.approx(tables["costs"].loc[42, "train_seconds_200ep_cifar100"])


def test_fallback_is_flagged_as_an_estimate_and_tracks_the_table(tables):
    cost = traincost.train_cost(space.arch_at(6111), "cifar10", 12)
    assert cost.estimate and cost.seconds > 0
    for dataset, name in ((d.name, d.cost_column) for d in columns.BY_DATASET.values()):
        estimated, flagged = traincost.seconds_per_epoch(dataset)
        recorded = tables["costs"][name].to_numpy() / 200
        r2 = 1 - ((recorded - estimated) ** 2).sum() / ((recorded - recorded.mean()) ** 2).sum()
        assert flagged and r2 > 0.98  # the module documents R² 0.993


def test_cost_rejects_unknown_dataset_bad_epochs_and_incomplete_tables(tables):
    with pytest.raises(traincost.TrainCostError, match="unknown dataset 'mnist'"):
        traincost.train_cost(0, "mnist", 12)
    for epochs in (0, -1, math.nan, True):
        with pytest.raises(traincost.TrainCostError, match="epochs must be a positive number"):
            traincost.train_cost(0, "cifar10", epochs, tables["costs"])
    without = tables["costs"].drop(columns=["train_seconds_200ep_imagenet16"])
    with pytest.raises(traincost.TrainCostError, match="no column 'train_seconds_200ep_imagenet16'"):
        traincost.train_cost(0, "imagenet16-120", 12, without)
    with pytest.raises(traincost.TrainCostError, match="lacks a positive .* for 5 of 15625 cells"):
        traincost.seconds_per_epoch("cifar10", tables["costs"].iloc[5:])
    with pytest.raises(KnasError, match="file not found"):
        traincost.load_costs("/nonexistent/nb201_costs.csv")


# --- the simulated searches ----------------------------------------------------------------

SIMULATED = tuple(name for name in strategies.NAMES if not strategies.info(name).trains)


@pytest.mark.parametrize("strategy", SIMULATED)
def test_budget_is_never_exceeded_and_records_add_up(strategy, cifar10, pixel3):
    records, result = classic.run(strategy, cifar10, seed=3, budget=6000, **_second(strategy, pixel3))
    assert result.clock <= 6000 and records[-1].clock == pytest.approx(result.clock)
    assert result.clock == pytest.approx(sum(r.seconds for r in records))
    assert [r.step for r in records] == list(range(1, len(records) + 1)) == list(range(1, result.evaluations + 1))
    best = -math.inf
    for r in records:
        assert r.reward == cifar10.rewards[r.index] and r.seconds == cifar10.seconds[r.index]
        best = max(best, r.reward)
        assert r.best_reward == best and cifar10.rewards[r.best_index] == best
    assert (result.chosen, result.reward) == (records[-1].best_index, records[-1].best_reward)
    # the search stopped because the budget could not pay for another typical evaluation
    assert 6000 - result.clock < cifar10.seconds.max()


@pytest.mark.parametrize("strategy", SIMULATED)
def test_same_seed_same_run_other_seed_other_run(strategy, cifar10, pixel3):
    def indices(seed):
        return [r.index for r in classic.run(strategy, cifar10, seed, budget=4000,
                                             **_second(strategy, pixel3))[0]]

    assert indices(7) == indices(7)
    assert indices(7) != indices(8)


def test_default_budget_is_the_published_one(cifar10):
    _, result = classic.run("rs", cifar10, 0)
    assert result.budget == columns.BY_DATASET["cifar10"].default_budget == columns.BY_DATASET["cifar10"].nb201_budget == 12000


def test_rea_population_evolves(cifar10):
    # Without selection the population mean would drift either way (all 5 up: chance 1/32).
    for seed in range(5):
        records, _ = classic.run("rea", cifar10, seed)
        founders = records[9].details["population_mean"]  # the 10 random founders
        final = records[-1].details["population_mean"]
        assert final > founders, (seed, founders, final)


def test_rea_mutation_changes_one_edge_picking_the_node_first():
    rng = np.random.default_rng(0)
    parent = space.arch_at(123)
    changed = Counter()
    for _ in range(6000):
        child = NB201.mutate(parent, rng)
        diff = [e for e in range(6) if child[e] != parent[e]]
        assert len(diff) == 1
        changed[diff[0]] += 1
    # node 1 has one input edge, node 2 two, node 3 three: 1/3, 1/6, 1/6, 1/9, 1/9, 1/9
    for edge, share in enumerate((1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9)):
        assert changed[edge] / 6000 == pytest.approx(share, abs=0.025)


def test_reinforce_policy_entropy_falls(cifar10):
    uniform = len(space.EDGES) * math.log(len(space.OPS))
    for seed in range(3):
        records, _ = classic.run("reinforce", cifar10, seed)
        assert records[0].details["entropy"] == pytest.approx(uniform, abs=0.1)
        assert records[-1].details["entropy"] < 0.5 * uniform


def test_tpe_is_optunas_sampler_and_learns_from_rewards(cifar10):
    import optuna

    study = strategies.tpe_study(seed=5)
    records, result = classic.run("tpe", cifar10, 5, budget=5000, study=study)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert [t.value for t in complete] == [r.reward for r in records]
    assert len(complete) == result.evaluations
    # The same seed on a world with the rewards turned upside down: the random start-up trials
    # agree, the model-based proposals after them do not.
    flipped = classic.TableOracle(NB201, "cifar10", -cifar10.rewards, cifar10.seconds, 12, False)
    upside_down = [r.index for r in classic.run("tpe", flipped, 5, budget=5000)[0]]
    proposals = [r.index for r in records]
    startup = 10  # Optuna's default n_startup_trials
    assert proposals[:startup] == upside_down[:startup]
    assert proposals[startup:startup + 20] != upside_down[startup:startup + 20]


def test_estimated_costs_are_flagged_on_the_result(tables):
    estimated = classic.table_oracle(NB201, "cifar100", tables["12ep"])
    _, result = classic.run("rs", estimated, 0)
    assert result.cost_estimated and result.budget == 40000


def test_rejected_settings(tables, cifar10):
    for budget in (0, -5, math.nan, math.inf, True, "12000"):
        with pytest.raises(classic.ClassicError, match="budget must be a positive number"):
            classic.search("rs", cifar10, 0, budget=budget)
    with pytest.raises(classic.ClassicError, match="below the cost of the cheapest cell"):
        classic.search("rs", cifar10, 0, budget=10)
    with pytest.raises(classic.ClassicError, match="unknown strategy 'hyperband'"):
        classic.search("hyperband", cifar10, 0)
    with pytest.raises(classic.ClassicError, match="bohb needs accuracies after each epoch"):
        classic.search("bohb", cifar10, 0)  # a table of final accuracies cannot simulate it
    with pytest.raises(classic.ClassicError, match="rea has no option.* learning_rate"):
        classic.search("rea", cifar10, 0, learning_rate=0.1)
    with pytest.raises(classic.ClassicError, match="population_size must be a positive integer"):
        classic.search("rea", cifar10, 0, population_size=0)
    with pytest.raises(classic.ClassicError, match="momentum must be in"):
        classic.search("reinforce", cifar10, 0, momentum=1.0)
    with pytest.raises(classic.ClassicError, match="seed must be a non-negative integer"):
        classic.search("rs", cifar10, -1)
    with pytest.raises(classic.ClassicError, match="unknown dataset 'svhn'"):
        classic.table_oracle(NB201, "svhn", tables["12ep"], tables["costs"])
    with pytest.raises(classic.ClassicError, match="no column 'cifar100_test_12ep'"):
        classic.table_oracle(NB201, "cifar100", tables["12ep"].drop(columns=["cifar100_test_12ep"]), tables["costs"])
    with pytest.raises(classic.ClassicError, match="lacks cifar10_test_12ep for 3 of 15625"):
        classic.table_oracle(NB201, "cifar10", tables["12ep"].iloc[3:], tables["costs"])
    assert issubclass(classic.ClassicError, KnasError) and issubclass(traincost.TrainCostError, KnasError)


# --- energy and references -----------------------------------------------------------------


def test_footprint_converts_and_states_its_assumptions():
    result = energy.footprint(7200, power_w=250, grid_kg_per_kwh=0.5)
    assert (result.gpu_hours, result.kwh, result.kg_co2) == pytest.approx((2.0, 0.5, 0.25))
    assert "250 W" in result.assumptions and "0.5 kg CO2e/kWh" in result.assumptions
    default = energy.footprint(3600)
    assert default.kwh == pytest.approx(0.3) and default.kg_co2 == pytest.approx(0.3 * 0.475)
    for bad in ({"seconds": -1}, {"seconds": 1, "power_w": 0}, {"seconds": 1, "pue": 0.9}):
        with pytest.raises(energy.EnergyError):
            energy.footprint(**bad)


def test_reference_optima_match_the_shared_table(tables):
    columns = {"cifar10": "cifar10_test", "cifar100": "cifar100_test", "imagenet16-120": "imagenet16_test"}
    for ref in references.find(NB201, method="optimal"):
        assert benchmark.best(tables["200ep"], columns[ref.dataset])[1] == pytest.approx(ref.test_mean, abs=0.005)
    keys = [(r.method, r.dataset) for r in published.REFERENCES]
    assert len(keys) == len(set(keys)) and all(r.source and r.checked for r in published.REFERENCES)
    assert {r.method for r in references.find(NB201, dataset="cifar10")} >= {"KNAS", "REA", "RS", "REINFORCE", "optimal"}
