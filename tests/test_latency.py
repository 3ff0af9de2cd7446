"""Latency-aware search on the real NAS-Bench-201 latency table: the table and its devices,
limits that every method keeps to, the accuracy-latency front and its indicators, NSGA-II,
this machine measured as a device, and what people read (headline, plot, report, Explorer)."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from knas.data import latency
from knas.errors import KnasError
from knas.results import headline, latencyview, report
from knas.scoring.cache import ScoreCache
from knas.search import classic, constraints, pareto, strategies
from knas.search.config import SearchConfig
from knas.search.events import Evaluated, Measured, TopK
from knas.search.pipeline import Search
from knas.ui import explore
from tests.conftest import NB201, REPO


@pytest.fixture(scope="module")
def paths(shared_data):
    return {"data": str(shared_data / "cifar10" / "cifar10_small.npz"),
            "truth": str(shared_data / "nb201" / "nb201_accuracies.csv"),
            "table12": str(shared_data / "nb201" / "nb201_12epoch.csv"),
            "costs": str(shared_data / "nb201" / "nb201_costs.csv"),
            "latency": str(shared_data / "hw" / "nb201_latency.csv")}


@pytest.fixture(scope="module")
def table(paths):
    return latency.load(paths["latency"], NB201)


@pytest.fixture(scope="module")
def raw(paths):
    return pd.read_csv(paths["latency"]).set_index("index")


def _config(paths, **changes) -> SearchConfig:
    values = dict(data=paths["data"], truth=paths["truth"], latency=paths["latency"],
                  max_latency=("pixel3:10.7",), proxy="params", k=10, pool="random:150",
                  fine=f"lookup:{paths['table12']}:cifar10_test_12ep", table12=paths["table12"],
                  costs=paths["costs"], budget=3000.0, device="cpu")
    return SearchConfig(**{**values, **changes})


# --- the table ------------------------------------------------------------------------------------


def test_the_table_has_27_devices_named_as_people_say_them(table, raw):
    assert len(table.devices) == 27 and "pixel3" in table.devices and "raspi4" in table.devices
    assert latency.label("pixel3") == "Pixel 3"
    assert latency.label("titan_rtx_1") == "Titan RTX (batch 1)"
    assert latency.label("gold_6226") == "Xeon Gold 6226"
    assert latency.label("made_up") == "made_up"
    assert table.row(6111)["pixel3"] == raw.at[6111, "latency_ms_pixel3"]
    position, total = table.rank(6111, "pixel3")
    assert total == 15625 and position == int((raw["latency_ms_pixel3"] < raw.at[6111, "latency_ms_pixel3"]).sum()) + 1
    with pytest.raises(latency.LatencyError, match="did you mean pixel3"):
        table.check_device("pixle3")


def test_bad_tables_are_refused_with_the_reason(tmp_path, raw):
    no_devices = tmp_path / "acc.csv"
    raw[["arch_str"]].assign(x=1.0).head(5).to_csv(no_devices)
    with pytest.raises(latency.LatencyError, match="no latency_ms_<device> column"):
        latency.load(no_devices, NB201)
    negative = tmp_path / "neg.csv"
    frame = raw[["arch_str", "latency_ms_pixel3"]].head(5).copy()
    frame.loc[3, "latency_ms_pixel3"] = -2.0
    frame.to_csv(negative)
    with pytest.raises(latency.LatencyError, match="cell 3 has latency -2 ms"):
        latency.load(negative, NB201)
    swapped = tmp_path / "swapped.csv"
    frame = raw[["arch_str", "latency_ms_pixel3"]].head(5).copy()
    frame["arch_str"] = frame["arch_str"].iloc[::-1].to_numpy()
    frame.to_csv(swapped)
    with pytest.raises(KnasError, match="but the row says index"):
        latency.load(swapped, NB201)


def test_limits_parse_and_say_what_is_wrong():
    limit = constraints.Limit.latency("pixel3:10.7")
    assert (limit.measure, limit.bound) == ("latency_ms_pixel3", 10.7)
    assert str(limit) == "latency on Pixel 3 ≤ 10.7 ms"
    for text, why in (("pixel3", "write DEVICE:MS"), ("pixel3:-1", "positive number"),
                      ("pixel3:fast", "not a number"), (":3", "write DEVICE:MS"),
                      ("pixel3:inf", "positive number")):
        with pytest.raises(KnasError, match=why):
            constraints.Limit.latency(text)


def test_config_errors_name_the_field_and_what_fits(paths):
    def errors(**changes):
        return _config(paths, **changes).errors()

    assert errors() == {}
    assert "did you mean pixel3" in errors(max_latency=("pixle3:10",))["max_latency"]
    assert "needs a latency table" in errors(latency="")["max_latency"]
    assert "does not exist" in errors(latency="/nowhere.csv")["latency"]
    too_tight = errors(max_latency=("pixel3:0.001",))["max_latency"]
    assert "no cell of nb201 meets the limits" in too_tight
    assert "0 cells fit (the least is 0.00328 ms)" in too_tight
    both = errors(max_latency=("pixel3:3",), max_params=0.01)["max_latency"]
    assert "together" in both and "parameters ≤ 0.01 M" in both
    assert "positive number" in errors(max_params=-1.0)["max_params"]
    assert "must be a number" in errors(max_flops="big")["max_flops"]
    assert "set pareto" in errors(baselines=("nsga2",))["baselines"]
    assert "needs a latency table" in errors(latency="", max_latency=(), pareto="pixel3")["pareto"]
    assert errors(latency="", max_latency=("here:50",)) == {}  # this machine needs no table


# --- every method keeps to the limits ----------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_run(paths, tmp_path_factory):
    config = _config(paths, baselines=("random", "meco", "rs", "rea", "reinforce", "tpe"),
                     max_latency=("pixel3:6.4", "raspi4:20"), n=8)
    search = Search(config, ScoreCache(tmp_path_factory.mktemp("scores")), workers=1)
    return config, list(search.events()), search.results


def _fits(raw, index, bounds) -> bool:
    return all(raw.at[index, f"latency_ms_{d}"] <= ms for d, ms in bounds.items())


def test_every_method_ranks_samples_and_returns_only_cells_that_fit(limited_run, raw, paths):
    config, events, results = limited_run
    bounds = {"pixel3": 6.4, "raspi4": 20.0}
    fits = raw.apply(lambda r: r.latency_ms_pixel3 <= 6.4 and r.latency_ms_raspi4 <= 20, axis=1)
    truth = pd.read_csv(paths["truth"]).set_index("index")["cifar10_test"]
    best = truth[fits].max()
    assert {r.method for r in results} == {"params", "random", "meco", "rs", "rea", "reinforce", "tpe"}
    for r in results:
        assert _fits(raw, r.chosen, bounds), r.method
        assert r.measures == {f"latency_ms_{d}": raw.at[r.chosen, f"latency_ms_{d}"] for d in bounds}
        assert r.gap == pytest.approx(best - truth[r.chosen])
    kept = [e for e in events if isinstance(e, TopK)]
    assert kept and all(_fits(raw, i, bounds) for e in kept for i in e.indices)
    evaluated = [e.index for e in events if isinstance(e, Evaluated)]
    assert len(evaluated) > 50 and all(_fits(raw, i, bounds) for i in evaluated)
    pool = config.pools()[0]
    measured = next(e for e in events if isinstance(e, Measured))
    assert [row[0] for row in measured.rows] == [i for i in pool if fits[i]]
    assert events[0].best_possible["value"] == pytest.approx(best)
    assert events[0].feasible_cells == int(fits.sum())


def test_the_command_line_returns_cells_within_the_budget_and_the_gap(paths, raw, tmp_path):
    def search(*extra):
        return subprocess.run(
            [sys.executable, "-m", "knas", "search", "--data", paths["data"], "--truth", paths["truth"],
             "--latency", paths["latency"], "--max-latency", "pixel3:10.7", "--proxy", "meco", "--n", "8",
             "--k", "10", "--pool", "random:100", "--fine", f"lookup:{paths['table12']}:cifar10_test_12ep",
             "--table12", paths["table12"], "--costs", paths["costs"], "--baselines", "rea,params",
             "--budget", "3000", "--quiet", *extra],
            cwd=REPO, capture_output=True, text=True, timeout=600,
            env={**os.environ, "KNAS_CACHE_DIR": str(tmp_path)})

    out = search("--json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    for method in ("meco", "rea", "params"):
        entry = found["methods"][method]
        assert all(raw.at[i, "latency_ms_pixel3"] <= 10.7 for i in entry["chosen"])
        assert entry["measures"][0]["latency_ms_pixel3"] <= 10.7
        assert entry["gap"][0] >= 0
    assert {row["method"]: row["gap_mean"] >= 0 for row in found["summary"]} == \
        {"meco": True, "rea": True, "params": True}
    best = raw.loc[raw.latency_ms_pixel3 <= 10.7]
    text = search()  # the same search as text: the limits, what fits, each method's gap
    assert text.returncode == 0, text.stderr
    assert f"under latency on Pixel 3 ≤ 10.7 ms: {len(best):,} cells fit" in text.stdout + text.stderr
    gaps = {line.split()[0]: float(line.split()[-1]) for line in text.stdout.splitlines()
            if line.split()[:1] in (["meco"], ["rea"], ["params"])}
    assert "below best" in text.stdout
    assert gaps == pytest.approx({row["method"]: row["gap_mean"] for row in found["summary"]}, abs=1e-3)


def test_an_unmeetable_budget_stops_the_command_before_any_work(paths, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "knas", "search", "--data", paths["data"], "--truth", paths["truth"],
         "--latency", paths["latency"], "--max-latency", "pixel3:0.001", "--fine", "lookup:cifar10_valid"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "KNAS_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "error: max_latency: no cell of nb201 meets the limits" in out.stderr
    assert "the least is 0.00328 ms" in out.stderr


# --- fronts ------------------------------------------------------------------------------------


def test_front_keeps_exactly_the_non_dominated_points():
    rng = np.random.default_rng(0)
    points = {i: (float(q), float(lat)) for i, (q, lat) in enumerate(rng.random((200, 2)))}
    points[200] = (math.nan, 0.0)

    def dominated(i):
        q, lat = points[i]
        return any(q2 >= q and l2 <= lat and (q2, l2) != (q, lat)
                   for j, (q2, l2) in points.items() if j != i and not math.isnan(q2))

    expected = sorted(i for i in points if not math.isnan(points[i][0]) and not dominated(i))
    assert sorted(pareto.front(points)) == expected
    chosen = pareto.select(points, 30)
    assert len(chosen) == 30 and set(expected) <= set(chosen)  # the first layer whole
    assert len(pareto.select(points, 3)) == 3 and set(pareto.select(points, 3)) <= set(expected)


def test_indicators_are_pymoos_on_the_true_fronts_scale():
    true = np.array([[90.0, 1.0], [92.0, 2.0], [94.0, 4.0]])
    assert pareto.indicators(true, true) == (pytest.approx(1.0), pytest.approx(0.0))
    # scaled to the true front: (1, 0), (0.5, 1/3), (0, 1); reference point (1.1, 1.1)
    whole = 0.5 * 0.1 + 0.5 * (1.1 - 1 / 3) + 0.1 * 1.1
    middle = 0.6 * (1.1 - 1 / 3)
    hv, igd = pareto.indicators(true[1:2], true)
    assert hv == pytest.approx(middle / whole)
    assert igd == pytest.approx((math.hypot(0.5, 1 / 3) + 0 + math.hypot(0.5, 2 / 3)) / 3)
    assert math.isnan(pareto.indicators(np.empty((0, 2)), true)[0])


@pytest.fixture(scope="module")
def front_run(paths, tmp_path_factory):
    config = _config(paths, max_latency=(), pareto="pixel3", baselines=("random", "rea", "nsga2"),
                     budget=4000.0)
    search = Search(config, ScoreCache(tmp_path_factory.mktemp("scores")), workers=1)
    return config, list(search.events()), search.results


def test_the_pareto_mode_returns_fronts_scored_against_the_true_one(front_run, raw):
    config, events, results = front_run
    for r in results:
        assert r.front and 0 < r.hypervolume <= 1 and r.igd >= 0, r.method
        # the returned cells are not dominated by what the method knew (fine score or reward)
        known = {i: float(pd.read_csv(config.table12).set_index("index").at[i, "cifar10_test_12ep"])
                 for i in r.front}
        assert pareto.front({i: (known[i], raw.at[i, "latency_ms_pixel3"]) for i in r.front}) == r.front
    two_stage = next(r for r in results if r.method == "params")
    assert set(two_stage.front) <= set(two_stage.topk)
    nsga2 = next(r for r in results if r.method == "nsga2")
    assert nsga2.networks_trained > 20 and nsga2.search_seconds <= 4000


def test_nsga2_and_constrained_tpe_keep_to_limits_on_the_clock(paths, raw):
    from knas.data import benchmark
    oracle = classic.table_oracle(NB201, "cifar10", benchmark.load_table(paths["table12"]),
                                  benchmark.load_table(paths["costs"]))
    config = _config(paths, max_latency=("pixel3:5",))
    limits = constraints.Constraints(constraints.limits_of(config), constraints.Measures(
        NB201, "cifar10", latency.load(paths["latency"], NB201)))
    pixel3 = raw["latency_ms_pixel3"].to_numpy()
    study = strategies.tpe_study(1)
    for strategy, options in (("nsga2", {"objective": pixel3.__getitem__}), ("tpe", {"study": study})):
        records, result = classic.run(strategy, oracle, 1, 5000, constraints=limits, **options)
        assert records and all(pixel3[r.index] <= 5 for r in records), strategy
    told = study.trials
    violation = [t.constraints[strategies.VIOLATION] for t in told]
    assert min(violation) == 0 and max(violation) > 0  # rejected proposals taught the sampler
    assert len([v for v in violation if v == 0]) == len(records) + 1  # + the one over budget
    with pytest.raises(KnasError, match="give its latency"):
        classic.search("nsga2", oracle, 0, 5000)


# --- this machine as a device ---------------------------------------------------------------------


def test_this_machine_is_measured_once_and_limits_a_search(paths, tmp_path, monkeypatch):
    monkeypatch.setenv("KNAS_CACHE_DIR", str(tmp_path))
    import torch

    from knas.scoring.latency import LatencyMeter, Protocol
    meter = LatencyMeter(NB201, torch.zeros(1, 3, 32, 32), 10, protocol=Protocol(2, 5))
    first = meter(6111)
    assert first > 0 and meter(6111) == first  # the second is the cached figure
    assert "median of 5 timed passes" in meter.protocol.text
    meter.close()
    config = _config(paths, latency="", max_latency=("here:500",), pool="random:12", k=3,
                     baselines=("random",))
    search = Search(config, ScoreCache(tmp_path / "scores"), workers=1)
    events = list(search.events())
    measured = next(e for e in events if isinstance(e, Measured))
    assert measured.measures == ["latency_ms_here"] and len(measured.rows) == 12
    assert all(0 < row[1] <= 500 for row in measured.rows)
    assert all(0 < r.measures["latency_ms_here"] <= 500 for r in search.results)
    assert events[0].best_possible is None  # which cells of the space fit is not known


# --- what people read ------------------------------------------------------------------------


def test_headline_plot_report_and_explorer_speak_of_the_device(limited_run, front_run, paths, table):
    config, events, _ = limited_run
    truth = pd.read_csv(paths["truth"]).set_index("index")
    line = headline.headline(events, NB201, "cifar10").text
    assert line.startswith("Under latency on Pixel 3 ≤ 6.4 ms; latency on Raspberry Pi 4 ≤ 20 ms: ")
    assert "below the best of the" in line and "that fit" in line
    accuracy = truth["cifar10_test"]
    measure = latencyview.axis(events)
    assert measure == "latency_ms_pixel3"
    front = latencyview.true_front(config, NB201, measure, accuracy)
    assert (front["latency"] <= 6.4).all() and front["accuracy"].is_monotonic_increasing
    fig = latencyview.figure(events, config, "params", 0, accuracy, front)
    names = [trace.name for trace in fig.data]
    assert names[0] == "true front (every cell that fits)" and "chosen cell ★" in names
    assert any(shape.x0 == 6.4 for shape in fig.layout.shapes)  # the budget line
    html = report.html_report(config.to_dict(), None, events, truth)
    assert "accuracy against latency" in html and "Under latency on Pixel 3" in html
    front_config, front_events, _ = front_run
    assert "hypervolume" in latencyview.front_note(front_events, "params", 0)
    rows = explore.latency_rows(table, 6111)
    assert len(rows) == 27 and rows.set_index("name").at["pixel3", "latency (ms)"] == table.row(6111)["pixel3"]
    empty = latencyview.plot(pd.DataFrame(columns=latencyview.COLUMNS))
    assert len(empty.data) == 0
