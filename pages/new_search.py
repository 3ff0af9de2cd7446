"""New search: a form for every SearchConfig field, checked as you type, with a work estimate."""
import json

import streamlit as st

from knas import datasets, estimate, fmt, formstate, jobs, proxies, space, throughput, ui, ui_run
from knas.config import BACKENDS, DEVICES, SearchConfig
from knas.events import JobStatus
from knas.specs import RANDOM, STRATEGIES, FineStage, Method, ParamSelection, Pool

ui.page_setup("New search")
st.title("New search")
settings = ui.app_settings()
info = ui.device_info()
state = st.session_state
# Every widget takes its value from the session: remembered from the last visit, filled by "Run
# again", or these defaults (dataset-specific keys get theirs once the dataset is known).
formstate.restore(state, {
    "ns_dataset": datasets.NAMES[0], "ns_truth": settings.truth, "ns_pool_kind": "random",
    "ns_pool_count": 1000, "ns_pool_start": 0, "ns_pool_stop": 1000, "ns_ensemble": False,
    "ns_members": ["mgm", "synflow"], "ns_proxy": "mgm", "ns_baselines": [RANDOM], "ns_n": 32,
    "ns_k": 40, "ns_params": "all", "ns_params_l": 10, "ns_params_m": 100, "ns_fine_kind": "lookup",
    "ns_table12": settings.table12, "ns_epochs": 1, "ns_train_samples": 5000, "ns_repeats": 1,
    "ns_seed": 0, "ns_device": "auto", "ns_costs": settings.costs,
    "ns_t12_strategies": settings.table12, "ns_budget": 0.0, "ns_backend": BACKENDS[0],
    "ns_ray_address": ""})


@st.cache_data(show_spinner=False, max_entries=64)
def _estimate(values: dict, device: str, measured: dict) -> estimate.Estimate:
    """The work estimate (a pool of all 15,625 cells takes a moment to deduplicate)."""
    return estimate.estimate(SearchConfig.from_dict(values), device, measured)


slots = {}  # field -> placeholder under its widget, filled with its error once the config is built

st.subheader("Data")
c1, c2 = st.columns(2)
with c1:
    dataset = st.selectbox("Dataset", datasets.NAMES, key="ns_dataset",
                           format_func=lambda name: datasets.info(name).label,
                           help="The NAS-Bench-201 dataset whose images the proxies see.")
    slots["dataset"] = st.empty()
    formstate.restore(state, {f"ns_data_{dataset}": settings.dataset_path(dataset),
                              f"ns_report_txt_{dataset}": datasets.test_column(dataset),
                              f"ns_fine_coltxt_{dataset}": datasets.info(dataset).valid_column,
                              f"ns_t12_coltxt_{dataset}": datasets.info(dataset).table12_column})
    data_path = st.text_input(
        "Dataset path", key=f"ns_data_{dataset}",
        help="A folder in the official layout (e.g. the one holding cifar-10-batches-py/), an "
             "image folder with one sub-folder per class, or an .npz with x (uint8 NHWC) and y. "
             "Prefilled from the Data page.")
    slots["data"] = st.empty()
with c2:
    truth = st.text_input(
        "Ground-truth table", key="ns_truth",
        help="NAS-Bench-201 accuracies (CSV or the official .pth). Used to report the chosen "
             "cell's accuracy and by the lookup fine stage. Leave empty to search without one.")
    slots["truth"] = st.empty()
    report_options = ui_run.report_options(dataset, truth)
    default_report = datasets.test_column(dataset)
    if report_options:
        report = st.selectbox("Report column", report_options, key=f"ns_report_{dataset}",
                              help="The truth column reported as the chosen cell's accuracy.")
    else:
        report = st.text_input("Report column", key=f"ns_report_txt_{dataset}",
                               help="The truth column reported as the chosen cell's accuracy.")
    report = "" if report == default_report else report
    slots["report"] = st.empty()
if not settings.dataset_path(dataset) or not settings.truth:
    st.page_link("pages/data.py", label="Set datasets and tables on the Data page", icon="🗂️")

st.subheader("Coarse stage: score the pool with a proxy")
c1, c2, c3 = st.columns(3)
with c1:
    pool_kind = st.radio("Pool", ["random", "range", "all"], horizontal=True, key="ns_pool_kind",
                         help="random: N cells drawn with the seed; range: benchmark indices "
                              "A..B-1; all: the whole space (15,625 cells).")
    if pool_kind == "random":
        count = st.number_input("Cells", min_value=1, max_value=space.N_ARCHS,
                                key="ns_pool_count", help="How many random cells to score.")
        pool = Pool("random", count=int(count))
    elif pool_kind == "range":
        a, b = st.columns(2)
        start = a.number_input("From index", min_value=0, max_value=space.N_ARCHS - 1,
                               key="ns_pool_start", help="First benchmark index (inclusive).")
        stop = b.number_input("To index", min_value=1, max_value=space.N_ARCHS,
                              key="ns_pool_stop", help="Last benchmark index (exclusive).")
        pool = Pool("range", start=int(start), stop=int(stop))
    else:
        pool = Pool("all")
    slots["pool"] = st.empty()
with c2:
    ensemble = st.toggle("Ensemble of proxies", key="ns_ensemble",
                         help="Rank cells by the mean rank of several proxies.")
    names = [proxies.RECOMMENDED, *proxies.CATALOG]
    if ensemble:
        chosen = st.multiselect("Proxies", names, key="ns_members",
                                format_func=ui_run.proxy_label,
                                help="Each cell's score is its mean rank across these proxies.")
    else:
        chosen = [st.selectbox("Proxy", names, key="ns_proxy",
                               format_func=ui_run.proxy_label,
                               help="MGM is the KNAS paper's proxy; the others are its peers. recommended ranks a "
                                    "whole pool best (ρ 0.93 over all cells); to pick the single best "
                                    "cell with a 12-epoch lookup, meco or synflow did better "
                                    "(docs/paper_table.md).")]
    proxy = str(Method.of(chosen)) if chosen else ""
    slots["proxy"] = st.empty()
    baselines = st.multiselect(
        "Baselines", [RANDOM, *STRATEGIES, *names], key="ns_baselines",
        format_func=ui_run.proxy_label,
        help="Run on the same pools with the same fine stage, to compare against: random picks k "
             "cells at random; a proxy runs the same two-stage search with that proxy; rs, rea, "
             "reinforce and tpe are classic train-then-test searches, simulated on the benchmark's "
             "tables within a training-time budget.")
    slots["baselines"] = st.empty()
with c3:
    n = st.number_input("Samples per network (n)", min_value=1, key="ns_n",
                        help="Images in the batch each network sees; MGM compares their gradients.")
    slots["n"] = st.empty()
    k = st.number_input("Top-k kept", min_value=1, key="ns_k",
                        help="How many of the best-scored cells go to the fine stage.")
    slots["k"] = st.empty()
    params_mode = st.radio("MGM parameters", ["all", "first"], horizontal=True, key="ns_params",
                           format_func={"all": "all weights",
                                        "first": "first L tensors, m elements"}.get,
                           help="all: the paper's MGM over every weight; first: the first m "
                                "elements of the first L tensors with at least m elements, as "
                                "the KNAS code does.")
    layers = elements = 1
    if params_mode == "first":
        a, b = st.columns(2)
        layers = a.number_input("L", min_value=1, key="ns_params_l")
        elements = b.number_input("m", min_value=1, key="ns_params_m")
    params = ParamSelection() if params_mode == "all" else ParamSelection(int(layers), int(elements))

st.subheader("Fine stage: pick one of the top-k")
c1, c2 = st.columns(2)
train_samples = 0
with c1:
    fine_kind = st.radio(
        "How", ["lookup", "table12", "train"], key="ns_fine_kind",
        format_func={"lookup": "Look up a ground-truth column",
                     "table12": "Look up the 12-epoch table (as if trained briefly)",
                     "train": "Train each candidate"}.get,
        help="Lookups cost nothing; training really trains k networks per method and repeat.")
with c2:
    if fine_kind == "lookup":
        columns = ui_run.csv_columns(truth)
        wanted = datasets.info(dataset).valid_column
        if columns:
            formstate.restore(state, {f"ns_fine_col_{dataset}": wanted if wanted in columns
                                      else columns[0]})
            column = st.selectbox("Column", columns, key=f"ns_fine_col_{dataset}",
                                  help="The truth column the fine stage picks the best by "
                                       "(a validation column keeps the test set unseen).")
        else:
            column = st.text_input("Column", key=f"ns_fine_coltxt_{dataset}",
                                   help="The truth column the fine stage picks the best by.")
        fine = FineStage("lookup", column=column)
    elif fine_kind == "table12":
        table = st.text_input("12-epoch table", key="ns_table12",
                              help="NAS-Bench-201's 12-epoch results (CSV); set it on the Data "
                                   "page.")
        columns = ui_run.csv_columns(table)
        wanted = datasets.info(dataset).table12_column
        if columns:
            formstate.restore(state, {f"ns_t12_col_{dataset}": wanted if wanted in columns
                                      else columns[0]})
            column = st.selectbox("Column", columns, key=f"ns_t12_col_{dataset}")
        else:
            column = st.text_input("Column", key=f"ns_t12_coltxt_{dataset}")
        fine = FineStage("lookup", column=column, table=table.strip())
    else:
        epochs = st.number_input("Epochs", min_value=1, max_value=200, key="ns_epochs",
                                 help="Epochs of training per candidate.")
        train_samples = st.number_input(
            "Training images per candidate", min_value=0, step=1000,
            key="ns_train_samples", help="0 trains on the whole training split.")
        slots["train_samples"] = st.empty()
        fine = FineStage("train", epochs=int(epochs))
    slots["fine"] = st.empty()

st.subheader("Run")
c1, c2, c3 = st.columns(3)
repeats = c1.number_input("Repeats", min_value=1, key="ns_repeats",
                          help="Runs with seeds seed, seed+1, …; the summary gives mean ± std.")
with c1:
    slots["repeats"] = st.empty()
seed = c2.number_input("Seed", min_value=0, key="ns_seed",
                       help="Seeds the pool, the image batch and the weights.")
device = c3.selectbox("Device", DEVICES, key="ns_device",
                      help=f"auto uses this machine's best: {info.get('device', 'cpu').upper()}.")

st.subheader("Search cost")
c1, c2, c3 = st.columns(3)
costs = c1.text_input(
    "Training-cost table", key="ns_costs",
    help="NAS-Bench-201's recorded training seconds per cell (nb201_costs.csv). It puts every "
         "method on one cost axis; the classic strategies need it. Set it on the Data page.")
slots["costs"] = c1.empty()
table12 = ""
budget = None
if any(b in STRATEGIES for b in baselines):
    table12 = c2.text_input("12-epoch table", key="ns_t12_strategies",
                            help="The classic strategies' reward: each evaluation looks up a "
                                 "cell's 12-epoch accuracy here.")
    slots["table12"] = c2.empty()
    seconds = c3.number_input("Budget (simulated seconds, 0: the dataset's default)",
                              min_value=0.0, step=1000.0, key="ns_budget",
                              help="How long each classic strategy may 'train' cells for.")
    budget = float(seconds) or None
    slots["budget"] = c3.empty()

with st.expander("Run on a Ray cluster"):
    backend = st.radio("Backend", BACKENDS, horizontal=True, key="ns_backend",
                       help="local: worker processes on this machine; ray: tasks on a Ray cluster "
                            "(a private local instance, or the cluster at an address).")
    ray_address = ""
    if backend == "ray":
        ray_address = st.text_input("Cluster address (empty: a private local instance)",
                                    key="ns_ray_address", help="HOST:PORT of the head node, or auto.")
        if ray_address and st.button("Connect and show the cluster", key="ns_ray_info"):
            with st.spinner("Asking the cluster (up to 30 s)…"):
                cluster = ui_run.cluster_info(ray_address)
            if cluster.get("ok"):
                st.success(f"{len(cluster['nodes'])} node(s), {cluster['cpus']:g} CPUs, "
                           f"{cluster['gpus']:g} GPUs (Ray {fmt.md_escape(cluster['ray_version'])})")
            else:
                st.error(fmt.md_escape(cluster.get("error", "no answer")))
    slots["backend"], slots["ray_address"] = st.empty(), st.empty()

config = SearchConfig(dataset=dataset, data=data_path.strip(), truth=truth.strip(), report=report,
                      pool=str(pool), proxy=proxy, n=int(n), k=int(k), fine=str(fine),
                      baselines=tuple(baselines), repeats=int(repeats), seed=int(seed),
                      device=device, params=str(params), train_samples=int(train_samples),
                      costs=costs.strip(), table12=table12.strip(), budget=budget,
                      backend=backend, ray_address=ray_address.strip())
errors = config.errors()
for name, message in errors.items():
    if name in slots:
        slots[name].error(fmt.md_escape(message), icon="⚠️")
    else:
        st.error(fmt.md_escape(f"{name}: {message}"), icon="⚠️")

with st.expander("Config as the command line sees it"):
    st.code(json.dumps(config.to_dict(), indent=2), language="json")

if errors:
    st.caption(f"Fix the {len(errors)} field(s) marked above to start.")
else:
    est = _estimate(config.to_dict(), ui_run.resolve_device(device, info.get("device", "cpu")),
                    throughput.load())
    a, b, c = st.columns(3)
    a.metric("Networks to score", f"{est.networks:,}")
    b.metric("Networks to train", f"{est.trained:,}")
    c.metric("Expected time", fmt.seconds(est.seconds),
             help="Start-up, scoring and training; the steps below show the arithmetic.")
    st.info(fmt.md_escape(estimate.summary(est, config)) + "\n\n"
            + "\n".join(f"- {fmt.md_escape(line)}" for line in est.lines()))
    st.caption("Seconds per network come from the jobs this machine has run (\"measured here\"); "
               "until a proxy has run here, its reference figure stands in. Cells already in "
               "the score cache take no time.")

store = ui.job_store()
existing = config.key() in store.ids()
if existing and not errors:
    state = store.state(config.key())
    st.caption(f"This exact search exists already ({state['status']}): Start opens it"
               + (" and resumes it from the cache." if JobStatus(state["status"]).can_resume
                  else "."))
formstate.remember(state)
if st.button("Start search", type="primary", disabled=bool(errors), key="ns_start", icon="🚀"):
    job_id = jobs.start(config, store)
    st.switch_page("pages/live.py", query_params={"job": job_id})
