"""knas.ui.formstate (New search remembered across pages, filled by "Run again") and the progress
lines and device probe the sidebar shows."""
import json
import os
import time

from knas import fmt
from knas.ui import formstate, machine
from knas.results import jobprogress
from knas.search.config import SearchConfig
from knas.search.events import JobState
from knas.search.specs import RANDOM


def test_the_form_survives_a_visit_to_another_page():
    state = {"ns_n": 8, "ns_pool_count": 24, "ns_start": False, "live_job": "x"}
    formstate.remember(state)
    assert state[formstate.SAVED] == {"ns_n": 8, "ns_pool_count": 24}  # no buttons, no other page
    for key in ("ns_n", "ns_pool_count", "ns_start"):  # what Streamlit drops on leaving the page
        del state[key]
    formstate.restore(state, {"ns_n": 32, "ns_k": 40})
    assert state["ns_n"] == 8 and state["ns_pool_count"] == 24 and state["ns_k"] == 40
    formstate.restore(state, {"ns_n": 99})
    assert state["ns_n"] == 8  # a value the session holds is never overwritten


def test_run_again_fills_every_field_of_a_config():
    config = SearchConfig(dataset="cifar10", data="/d.npz", truth="/t.csv", report="cifar10_valid",
                          pool="range:5:500", proxy="ensemble:mgm+synflow",
                          baselines=(RANDOM, "naswot", "rea", "nope"), costs="/c.csv", budget=500.0, n=8, k=7, repeats=3, seed=4,
                          device="cpu", params="first:10:100", fine="lookup:/t12.csv:cifar10_test_12ep")
    state = {"ns_n": 32, "other": 1}
    formstate.fill(state, config)
    assert "ns_n" not in state and state["other"] == 1
    formstate.restore(state, {})
    assert state["ns_dataset_nb201"] == "cifar10" and state["ns_data_cifar10"] == "/d.npz"
    assert state["ns_report_nb201_cifar10"] == "cifar10_valid"
    assert (state["ns_pool_kind"], state["ns_pool_start"], state["ns_pool_stop"]) == ("range", 5, 500)
    assert state["ns_ensemble"] is True and state["ns_members"] == ["mgm", "synflow"]
    assert state["ns_baselines"] == [RANDOM, "naswot", "rea"]  # what the form offers
    assert (state["ns_costs_nb201"], state["ns_budget"], state["ns_backend"]) == ("/c.csv", 500.0, "local")
    assert (state["ns_n"], state["ns_k"], state["ns_repeats"], state["ns_seed"]) == (8, 7, 3, 4)
    assert (state["ns_params"], state["ns_params_l"], state["ns_params_m"]) == ("first", 10, 100)
    assert (state["ns_fine_kind"], state["ns_table12_nb201"], state["ns_t12_col_nb201_cifar10"]) == \
        ("table12", "/t12.csv", "cifar10_test_12ep")
    deployed = formstate.form_values(SearchConfig(latency="/lat.csv", max_latency=("pixel3:10.7", "here:5"),
                                                  max_params=0.5, pareto="raspi4"))
    assert deployed["ns_latency_nb201"] == "/lat.csv" and deployed["ns_pareto"] == "raspi4"
    assert deployed["ns_limit_devices"] == ["pixel3", "here"]
    assert (deployed["ns_maxlat_pixel3"], deployed["ns_maxlat_here"]) == (10.7, 5.0)
    assert (deployed["ns_max_params"], deployed["ns_max_flops"]) == (0.5, 0.0)
    trained = formstate.form_values(SearchConfig(pool="random:50", fine="train:3", train_samples=900))
    assert (trained["ns_pool_kind"], trained["ns_pool_count"]) == ("random", 50)
    assert (trained["ns_fine_kind"], trained["ns_epochs"], trained["ns_train_samples"]) == ("train", 3, 900)
    assert trained["ns_proxy"] == "mgm" and trained["ns_ensemble"] is False


def test_progress_lines_for_each_moment_of_a_job():
    now = 1000.0
    starting = {"status": "queued", "queued": now - 12, "progress": {}}
    assert jobprogress.progress_view(JobState.from_dict(starting), now)[1].endswith("· 12 s")
    assert jobprogress.short_progress(JobState.from_dict(starting), now) == "starting 12 s"  # never "0/?"
    scoring = {"status": "running", "progress": {"stage": "coarse", "method": "mgm", "repeat": 0,
                                                 "done": 30, "total": 60, "rate": 2.0, "eta": 15.0}}
    assert "ETA 15 s" in jobprogress.progress_view(JobState.from_dict(scoring))[1]
    assert jobprogress.short_progress(JobState.from_dict(scoring)) == "30/60"
    scored = {**scoring, "progress": {**scoring["progress"], "done": 60}}
    assert jobprogress.progress_view(JobState.from_dict(scored))[1].endswith("60/60 scored · picking among the top-k")
    cancelled = {**scoring, "status": "cancelled"}
    fraction, text = jobprogress.progress_view(JobState.from_dict(cancelled))
    assert fraction == 0.5 and text.startswith("cancelled at coarse stage") and "ETA" not in text
    assert jobprogress.progress_view(JobState.from_dict({"status": "failed", "progress": {}}))[1] == "failed before the first result"


def test_device_probe_is_remembered_for_this_boot(runtime, monkeypatch):
    for earlier in list(machine._probing):  # a probe another test started would answer for this one
        earlier.join(120)
    (runtime / "cache" / "device.json").unlink(missing_ok=True)
    calls = []
    monkeypatch.setattr(machine, "device_info", lambda: calls.append(1) or {"device": "cpu", "name": "CPU"})
    assert machine.remembered_device() is None
    assert machine.device_info_now(wait=True) == {"device": "cpu", "name": "CPU"}
    assert machine.device_info_now() == {"device": "cpu", "name": "CPU"} and len(calls) == 1
    saved = json.loads((runtime / "cache" / "device.json").read_text())
    saved["key"] = "another boot|" + saved["key"]
    (runtime / "cache" / "device.json").write_text(json.dumps(saved))
    assert machine.remembered_device() is None  # a reboot asks again
    assert machine.device_info_now().get("pending")  # ... in the background, without waiting
    deadline = time.time() + 60  # a wait, not a speed figure: a loaded machine is slow
    while machine.remembered_device() is None and time.time() < deadline:
        time.sleep(0.05)
    assert machine.remembered_device() == {"device": "cpu", "name": "CPU"} and len(calls) == 2


def test_usual_data_roots_include_the_common_places(monkeypatch, tmp_path):
    monkeypatch.setenv("KNAS_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    roots = machine.usual_data_roots()
    for expected in (tmp_path / "mine", tmp_path / "home" / "data", tmp_path / "home" / ".torch"):
        assert expected.resolve() in roots


def test_cache_size_skips_files_that_vanish_mid_scan(tmp_path, monkeypatch):
    """Workers rename temp files while the sidebar sums the cache (a CI failure)."""
    (tmp_path / "kept.bin").write_bytes(b"x" * 10)
    real_walk = os.walk

    def walk_listing_a_renamed_file(top):
        for root, dirs, files in real_walk(top):
            yield root, dirs, [*files, "device.123.tmp"]

    monkeypatch.setattr(os, "walk", walk_listing_a_renamed_file)
    assert machine.folder_size(tmp_path) == 10
    assert machine.folder_size(tmp_path / "missing") == 0


def test_the_command_line_new_search_shows_runs_the_same_search(shared_data, tmp_path):
    """What the "same search on the command line" box shows parses back to the same config (the
    same job id), quoting a path with a space in it."""
    import shlex
    import shutil

    from knas.__main__ import build_parser
    from knas.search import form
    from knas.search.config import SearchConfig

    truth = tmp_path / "nb201 accuracies.csv"
    shutil.copy(shared_data / "nb201" / "nb201_accuracies.csv", truth)
    config = SearchConfig(data=str(shared_data / "cifar10" / "cifar10_small.npz"), truth=str(truth),
                          pool="random:20", proxy="ensemble:mgm+synflow", k=3, n=8, repeats=2,
                          baselines=("random", "tenas", "gdas:1"), budget=300.0,
                          fine="lookup:cifar10_valid")
    words = shlex.split(form.command_line(config))
    assert words[:4] == ["python", "-m", "knas", "search"]
    args = build_parser().parse_args(words[3:])
    again = form.config_from_args(SearchConfig, args, space=args.space)
    assert again == config and again.key() == config.key()


def test_one_progress_bar_counts_up_across_methods_repeats_and_stages():
    """Two methods × two repeats: the bar and the sidebar count the whole job, the caption names
    the part and the job's ETA from the time spent so far."""
    from knas.jobs import _progress
    from knas.search.events import MethodDone, MethodResult, Scored, Started, Trained

    result = MethodResult("mgm", 0, 0, 1, "x", 90.0, 1.0)
    progress = _progress(Started(methods=("mgm", "random"), repeats=2), {})
    seen = []
    for event in [Scored(method="mgm", repeat=0, done=50, total=100, rate=5.0),
                  Scored(method="mgm", repeat=0, done=100, total=100, rate=5.0),
                  Trained(method="mgm", repeat=0, done=1, total=2),
                  MethodDone(result=result), Trained(method="random", repeat=0, done=2, total=2),
                  MethodDone(result=result),
                  Scored(method="mgm", repeat=1, done=20, total=100, rate=5.0)]:
        progress = _progress(event, progress)
        state = JobState.from_dict({"status": "running", "started": 100.0, "progress": progress})
        seen.append(jobprogress.progress_view(state, now=200.0))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == (2 + 0.2) / 4
    assert fractions[0] == 0.125  # half of the first of four parts
    assert jobprogress.short_progress(state) == "55%"
    text = seen[-1][1]
    assert text.startswith("55% of the job · part 3 of 4 · coarse stage (scoring) · mgm · repeat 2")
    assert text.endswith(f"job ETA {fmt.seconds(100 * 0.45 / 0.55)}")
