"""knas.jobs.throughput and knas.search.estimate: the machine's measured speed, the estimate built on it with
its arithmetic, and the estimate set against what a run really took."""
import dataclasses
import json
import math

import pytest

from knas import fmt
from knas.search import estimate
from knas.jobs import throughput
from knas.search.config import SearchConfig
from knas.search.events import JobState, MethodDone, MethodResult, Scored, Started
from knas.search.specs import RANDOM


def _config(shared_data, **changes):
    values = dict(data=str(shared_data / "cifar10" / "cifar10_small.npz"),
                  truth=str(shared_data / "nb201" / "nb201_accuracies.csv"), pool="random:100",
                  proxy="mgm", baselines=(RANDOM, "synflow"), k=10, n=16, fine="lookup:cifar10_valid")
    values.update(changes)
    return SearchConfig(**values)


def _scored(method, repeat, n_cells, seconds_per_cell, start=2.0):
    """SCORED events as the search writes them: rate = cells done / seconds since the stage began."""
    return [Scored(method=method, repeat=repeat, index=i, values={}, built=1, done=i + 1,
                   total=n_cells, rate=(i + 1) / (start + (i + 1) * seconds_per_cell))
            for i in range(n_cells)]


def _done(method, repeat, coarse, scored, fine=0.0):
    return MethodDone(result=MethodResult(
        method=method, repeat=repeat, seed=repeat, chosen=1, arch_str="x", test_accuracy=90.0,
        fine_score=1.0, coarse_seconds=coarse, fine_seconds=fine, networks_scored=scored,
        networks_trained=0))


def test_stage_speed_separates_per_network_seconds_from_the_fixed_start():
    events = _scored("mgm", 0, 50, 0.6, start=4.0) + [_done("mgm", 0, 4.0 + 50 * 0.6, 50)]
    per, fixed, built = throughput.stage_speed(events, "mgm", 0)
    assert per == pytest.approx(0.6) and fixed == pytest.approx(4.0) and built == 50
    cached = [dataclasses.replace(e, built=0) for e in events[:-1]] + events[-1:]
    assert throughput.stage_speed(cached, "mgm", 0) is None  # nothing built: nothing to learn


def test_a_finished_job_is_recorded_and_drives_the_next_estimate(runtime, shared_data):
    config = _config(shared_data)
    guess = estimate.estimate(config, "cpu", {})
    assert [s.basis for s in guess.steps if s.stage == "scoring"] == [estimate.GUESS] * 2

    events = [Started(methods=tuple(config.methods), at=1012.0)]
    events += _scored("mgm", 0, 60, 0.7, start=3.0) + [_done("mgm", 0, 3.0 + 60 * 0.7, 60)]
    events += [_done(RANDOM, 0, 0.0, 0)]
    events += _scored("synflow", 0, 60, 0.2, start=1.0) + [_done("synflow", 0, 1.0 + 60 * 0.2, 60)]
    state = JobState(queued=1000.0, finished=1070.0)
    recorded = throughput.record(config, state, events, "cpu")
    assert recorded["startup|cpu"] == pytest.approx(12.0)
    assert json.loads(throughput.path().read_text())["score|mgm|nb201:cpu|16"][0][0] == pytest.approx(0.7)

    est = estimate.estimate(config, "cpu")  # reads the file
    steps = {s.what: s for s in est.steps}
    assert steps["start-up"].seconds == pytest.approx(12.0) and steps["start-up"].basis == estimate.MEASURED
    mgm = steps["mgm"]
    assert mgm.basis == estimate.MEASURED
    assert mgm.seconds == pytest.approx(mgm.networks * 0.7 + 3.0)
    assert mgm.arithmetic.startswith(f"100 cells → {mgm.networks} networks × 0.70 s + 3 s")
    assert steps[RANDOM].seconds == 0 and steps[RANDOM].basis == estimate.FREE
    assert est.seconds == pytest.approx(sum(s.seconds for s in est.steps))
    assert "100 cells × 2 scoring method(s)" in estimate.summary(est, config)

    doubled = estimate.estimate(_config(shared_data, n=32), "cpu")  # n scales the measured speed
    assert {s.what: s for s in doubled.steps}["mgm"].arithmetic.split("× ")[1].startswith("1.40 s")
    assert "scaled to n = 32" in {s.what: s for s in doubled.steps}["mgm"].basis


def test_classic_strategies_and_training_in_the_estimate(shared_data):
    costs = shared_data / "nb201" / "nb201_costs.csv"
    config = _config(shared_data, baselines=(RANDOM, "rea"), costs=str(costs),
                     table12=str(shared_data / "nb201" / "nb201_12epoch.csv"),
                     fine="train:2", train_samples=1000)
    est = estimate.estimate(config, "cpu", {})
    steps = {s.what: s for s in est.steps}
    assert steps["rea"].seconds == 0 and steps["rea"].basis == estimate.FREE
    train = steps["training"]
    assert est.trained == 10 * 2 and train.networks == 20
    assert train.seconds == pytest.approx(20 * 2 * 1000 * estimate.DEFAULT_TRAIN_SECONDS)
    assert train.arithmetic.startswith("20 candidates × 2 epoch(s) × 1,000 images")
    gpu = estimate.estimate(config, "cuda", {})
    gpu_steps = {s.what: s for s in gpu.steps}
    assert gpu_steps["mgm"].seconds == pytest.approx(
        steps["mgm"].seconds / estimate.SCORING_GPU_SPEEDUP)
    assert gpu_steps["training"].seconds == pytest.approx(
        train.seconds / estimate.TRAINING_GPU_SPEEDUP)


def test_estimate_against_actual_per_stage(shared_data):
    config = _config(shared_data, baselines=(RANDOM,))
    est = estimate.estimate(config, "cpu", {})
    events = [Started(methods=("mgm", RANDOM), at=115.0),
              _done("mgm", 0, 40.0, 80), _done(RANDOM, 0, 0.0, 0)]
    frame = estimate.versus_actual(est, JobState(queued=100.0, finished=160.0), events)
    rows = frame.set_index("stage")
    assert rows.loc["start-up", "actual s"] == 15.0 and rows.loc["scoring", "actual s"] == 40.0
    assert rows.loc["total", "actual s"] == 60.0
    assert rows.loc["total", "estimated s"] == pytest.approx(est.seconds)
    assert rows.loc["scoring", "actual ÷ estimated"] == pytest.approx(40.0 / est.stage_seconds("scoring"))
    assert math.isnan(rows.loc["training", "actual ÷ estimated"])  # a lookup: nothing estimated
    assert estimate.Estimate.from_dict(est.to_dict()) == est  # stored in the job state as JSON


def test_a_run_of_hours_is_flagged_before_it_starts(shared_data):
    saved = {}
    short = estimate.estimate(_config(shared_data), "cpu", saved)
    assert short.seconds < estimate.LONG_RUN and estimate.warning(short, _config(shared_data)) is None
    config = _config(shared_data, pool="all", repeats=20, baselines=())
    long = estimate.estimate(config, "cpu", saved)
    text = estimate.warning(long, config)
    assert long.seconds >= estimate.LONG_RUN
    assert text.startswith(f"This run will take about {fmt.seconds(long.seconds)}, most of it mgm")
