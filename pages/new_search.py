"""New search: a form for every SearchConfig field, checked as you type, with a work estimate."""

from pathlib import Path

import streamlit as st

from knas import fmt, jobs, proxies, spaces
from knas.data import datasets
from knas.jobs import throughput
from knas.search import estimate, form, memory
from knas.ui import formstate, forms, widgets
from knas.search.checks import BACKENDS
from knas.search.config import SearchConfig
from knas.search.events import JobStatus
from knas.search.specs import RANDOM, STRATEGIES, FineStage, Method, ParamSelection, Pool
from knas.search.checks import MAX_TEXT

widgets.page_setup("New search")
st.title("New search")
settings = widgets.app_settings()
info = widgets.device_info()
state = st.session_state
# Every widget takes its value from the session: remembered from the last visit, filled by "Run
# again", or these defaults (dataset-specific keys get theirs once the dataset is known).
formstate.restore(state, {
    "ns_space": spaces.DEFAULT, "ns_pool_kind": "random",
    "ns_pool_count": 1000, "ns_pool_start": 0, "ns_pool_stop": 1000, "ns_ensemble": False,
    "ns_members": ["mgm", "synflow"], "ns_proxy": "mgm", "ns_baselines": [RANDOM],
    "ns_params": "all", "ns_params_l": 10, "ns_params_m": 100,
    "ns_epochs": 1, "ns_train_samples": 5000, "ns_budget": 0.0, "ns_backend": BACKENDS[0],
    "ns_ray_address": "", "ns_limit_devices": [], "ns_max_params": 0.0, "ns_max_flops": 0.0,
    "ns_pareto": "", **formstate.section_defaults()})


@st.cache_data(show_spinner=False, max_entries=64)
def _estimate(values: dict, device: str, measured: dict) -> estimate.Estimate:
    """The work estimate (a pool of a whole space takes a moment to deduplicate)."""
    return estimate.estimate(SearchConfig.from_dict(values), device, measured)


@st.cache_data(show_spinner=False, max_entries=64, ttl=60)
def _memory_warning(values: dict) -> str | None:
    """Whether scoring fits in this machine's memory (reads at most a few image headers)."""
    return memory.warning(SearchConfig.from_dict(values))


slots = {}  # field -> placeholder under its widget, filled with its error once the config is built

st.subheader("Search space")
space = widgets.space_picker("ns_space")
slots["space"] = st.empty()
if space is None:
    formstate.remember(state)
    st.stop()
sid = space.cache_id  # tables and columns are remembered per space
default_space = space.spec == spaces.DEFAULT  # the Data page's tables are the default space's
dataset_names = [d for d in datasets.all_names() if not space.datasets or d in space.datasets]
formstate.default(state, {f"ns_dataset_{sid}": dataset_names[0],
                          f"ns_truth_{sid}": settings.truth if default_space else "",
                          f"ns_table12_{sid}": settings.table12 if default_space else "",
                          f"ns_costs_{sid}": settings.costs if default_space else "",
                          f"ns_t12_strategies_{sid}": settings.table12 if default_space else "",
                          f"ns_latency_{sid}": settings.latency if default_space else ""})

st.subheader("Data")
c1, c2 = st.columns(2)
with c1:
    dataset = st.selectbox("Dataset", dataset_names, key=f"ns_dataset_{sid}",
                           format_func=lambda name: datasets.info(name).label,
                           help="The dataset whose images the proxies see.")
    slots["dataset"] = st.empty()
    columns_of = space.truth_columns(dataset)
    formstate.default(state, {f"ns_data_{dataset}": settings.dataset_path(dataset),
                              f"ns_report_txt_{sid}_{dataset}": columns_of.test,
                              f"ns_fine_coltxt_{sid}_{dataset}": columns_of.valid,
                              f"ns_t12_coltxt_{sid}_{dataset}": columns_of.short})
    data_path = st.text_input("Dataset path", key=f"ns_data_{dataset}",
                              help=forms.data_path_help(dataset), max_chars=MAX_TEXT)
    slots["data"] = st.empty()
with c2:
    truth = st.text_input(
        "Ground-truth table", key=f"ns_truth_{sid}",
        help=f"{space.label} accuracies (CSV, or a benchmark's own file). Used to report the "
             "chosen cell's accuracy and by the lookup fine stage. Leave empty to search without "
             "one.", max_chars=MAX_TEXT)
    slots["truth"] = st.empty()
    report_options = forms.report_options(space, dataset, truth)
    default_report = columns_of.test
    if report_options:
        report = st.selectbox("Report column", report_options, key=f"ns_report_{sid}_{dataset}",
                              help="The truth column reported as the chosen cell's accuracy.")
    else:
        report = st.text_input("Report column", key=f"ns_report_txt_{sid}_{dataset}",
                               help="The truth column reported as the chosen cell's accuracy.", max_chars=MAX_TEXT)
    report = "" if report == default_report else report
    slots["report"] = st.empty()
if not settings.dataset_path(dataset) or not settings.truth:
    st.page_link(widgets.DATA.path, label="Set datasets and tables on the Data page", icon="🗂️")

st.subheader("Coarse stage: score the pool with a proxy")
c1, c2, c3 = st.columns(3)
with c1:
    pool_kind = st.radio("Pool", ["random", "range", "all"], horizontal=True, key="ns_pool_kind",
                         help="random: N cells drawn with the seed; range: cell indices "
                              f"A..B-1; all: the whole space ({space.size:,} cells).")
    for key, limit in (("ns_pool_count", space.size), ("ns_pool_start", space.size - 1),
                       ("ns_pool_stop", space.size)):
        state[key] = min(state[key], limit)  # a smaller space than the last one drawn
    if pool_kind == "random":
        count = st.number_input("Cells", min_value=1, max_value=space.size,
                                key="ns_pool_count", help="How many random cells to score.")
        pool = Pool("random", count=int(count), size=space.size)
    elif pool_kind == "range":
        a, b = st.columns(2)
        start = a.number_input("From index", min_value=0, max_value=space.size - 1,
                               key="ns_pool_start", help="First cell index (inclusive).")
        stop = b.number_input("To index", min_value=1, max_value=space.size,
                              key="ns_pool_stop", help="Last cell index (exclusive).")
        pool = Pool("range", start=int(start), stop=int(stop), size=space.size)
    else:
        pool = Pool("all", size=space.size)
    slots["pool"] = st.empty()
with c2:
    ensemble = st.toggle("Ensemble of proxies", key="ns_ensemble",
                         help="Rank cells by the mean rank of several proxies.")
    names = forms.applicable_methods(space)
    label = lambda name: forms.proxy_label(name, space)  # noqa: E731
    if ensemble:
        chosen = st.multiselect("Proxies", [n for n in names if n in proxies.CATALOG],
                                key="ns_members", select_all=False,
                                format_func=label,
                                help="Each cell's score is its mean rank across these proxies.")
    else:
        chosen = [st.selectbox("Proxy", names, key="ns_proxy",
                               format_func=label,
                               help="MGM is the KNAS paper's proxy; the others are its peers. To "
                                    "search, use recommended_top: chosen for the cell a search "
                                    "ends with, its top k holds the best cells (docs/whole_space_"
                                    "search.md). recommended orders a whole pool best (ρ 0.93 "
                                    "over all cells) but ranks some of the very best cells low: "
                                    "use it to study or rank everything.")]
    proxy = str(Method.of(chosen)) if chosen else ""
    slots["proxy"] = st.empty()
    offered = [RANDOM, *forms.reference_methods(space), *STRATEGIES, *forms.oneshot_methods(space),
               *names]
    state["ns_baselines"] = [b for b in state["ns_baselines"] if b in offered]  # another space's
    baselines = st.multiselect(  # no "Select all": it would queue every proxy and strategy
        "Baselines", offered, key="ns_baselines", select_all=False,
        format_func=label,
        help="Run on the same pools with the same fine stage, to compare against: random picks k "
             "cells at random; a proxy runs the same two-stage search with that proxy; rs, rea, "
             "reinforce and tpe are classic train-then-test searches within a training-time "
             "budget, simulated on the space's tables where it has them, else really trained; "
             "bohb (epochs as its budgets) always trains for real; darts, gdas and tenas derive "
             "one cell from the supernet (every op on every edge) on this machine.")
    slots["baselines"] = st.empty()
values = {}  # the settings drawn in a loop (knas.search.form)
with c3:
    for setting in form.section("coarse"):
        values[setting.name] = widgets.setting_input(setting)
        slots[setting.name] = st.empty()
    # Which weights a gradient proxy uses matters only to those that take it (MGM and its Gram
    # peers): shown only when one is chosen, else the default (all) stands.
    takes_params = forms.takes_params([proxy, *baselines])
    params_mode = st.radio("MGM parameters", ["all", "first"], horizontal=True, key="ns_params",
                           format_func={"all": "all weights",
                                        "first": "first L tensors, m elements"}.get,
                           help="all: the paper's MGM over every weight; first: the first m "
                                "elements of the first L tensors with at least m elements, as "
                                "the KNAS code does.") if takes_params else "all"
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
    kinds = ["lookup", "table12", "train"] if space.short_epochs else ["lookup", "train"]
    if state.get("ns_fine_kind") not in kinds or state.get("ns_fine_for", sid) != sid:
        # What a cheap short training would see, when the space has that table: not the
        # 200-epoch validation accuracy no short search could know.
        state["ns_fine_kind"] = ("table12" if "table12" in kinds and state.get(f"ns_table12_{sid}")
                                 else "lookup" if truth else "train")
    state["ns_fine_for"] = sid
    fine_kind = st.radio(
        "How", kinds, key="ns_fine_kind",
        format_func={"lookup": "Look up a ground-truth column",
                     "table12": f"Look up the {space.short_epochs}-epoch table (as if trained "
                                "briefly)",
                     "train": "Train each candidate"}.get,
        help="Lookups cost nothing; training really trains k networks per method and repeat.")
with c2:
    if fine_kind == "lookup":
        columns = forms.csv_columns(truth)
        wanted = columns_of.valid
        if columns:
            formstate.default(state, {f"ns_fine_col_{sid}_{dataset}": wanted if wanted in columns
                                      else columns[0]})
            column = st.selectbox("Column", columns, key=f"ns_fine_col_{sid}_{dataset}",
                                  help="The truth column the fine stage picks the best by "
                                       "(a validation column keeps the test set unseen).")
        else:
            column = st.text_input("Column", key=f"ns_fine_coltxt_{sid}_{dataset}",
                                   help="The truth column the fine stage picks the best by.", max_chars=MAX_TEXT)
        fine = FineStage("lookup", column=column)
    elif fine_kind == "table12":
        table = st.text_input(f"{space.short_epochs}-epoch table", key=f"ns_table12_{sid}",
                              help=f"{space.label}'s short-schedule results (CSV); set it on the "
                                   "Data page.", max_chars=MAX_TEXT)
        columns = forms.csv_columns(table)
        wanted = columns_of.short
        if columns:
            formstate.default(state, {f"ns_t12_col_{sid}_{dataset}": wanted if wanted in columns
                                      else columns[0]})
            column = st.selectbox("Column", columns, key=f"ns_t12_col_{sid}_{dataset}")
        else:
            column = st.text_input("Column", key=f"ns_t12_coltxt_{sid}_{dataset}", max_chars=MAX_TEXT)
        fine = FineStage("lookup", column=column, table=table.strip())
    else:
        epochs = st.number_input("Epochs", min_value=1, max_value=200, key="ns_epochs",
                                 help="Epochs of training per candidate.")
        noun = "texts" if datasets.is_text(dataset) else "images"
        split = datasets.info(dataset).train_split
        if split and state.get("ns_train_samples", 0) > split:
            state["ns_train_samples"] = 0  # a smaller data set than the last one: all of it
        train_samples = st.number_input(
            f"Training {noun} per candidate", min_value=0, step=1000,
            key="ns_train_samples", help="0 trains on the whole training split.")
        slots["train_samples"] = st.empty()
        fine = FineStage("train", epochs=int(epochs))
    slots["fine"] = st.empty()

st.subheader("Run")
machine_device = f"auto uses this machine's best: {info.get('device', 'cpu').upper()}."
for column, setting in zip(st.columns(3), form.section("run")):
    with column:
        values[setting.name] = widgets.setting_input(
            setting, machine_device if setting.name == "device" else "")
        slots[setting.name] = st.empty()

st.subheader("Search cost")
c1, c2, c3 = st.columns(3)
costs = c1.text_input(
    "Training-cost table", key=f"ns_costs_{sid}",
    help=f"{space.label}'s recorded training seconds per cell. It puts every method on one cost "
         "axis; the simulated classic strategies need it. Set it on the Data page.", max_chars=MAX_TEXT)
slots["costs"] = c1.empty()
table12 = ""
budget = None
if any(b in STRATEGIES for b in baselines):
    if space.short_epochs and fine_kind == "table12" and fine.table:
        c2.caption(f"The classic strategies' reward: the {space.short_epochs}-epoch table of the "
                   f"fine stage ({fmt.md_escape(Path(fine.table).name)}).")
    elif space.short_epochs:
        table12 = c2.text_input(f"{space.short_epochs}-epoch table",
                                key=f"ns_t12_strategies_{sid}",
                                help="The classic strategies' reward: each evaluation looks up a "
                                     f"cell's {space.short_epochs}-epoch accuracy here.", max_chars=MAX_TEXT)
        slots["table12"] = c2.empty()
    if space.short_epochs:
        budget_label = "Budget (simulated seconds, 0: the dataset's default)"
        if trained_note := forms.trained_strategies_note(baselines, space):
            c2.caption(trained_note)
            budget_label = "Budget (seconds: simulated, or of real training where one trains)"
    else:
        c2.caption(f"{space.label} has no table of short runs: the classic strategies really "
                   "train each cell they evaluate, with the fine stage's recipe.")
        budget_label = "Budget (seconds of real training per strategy)"
    seconds = c3.number_input(budget_label, min_value=0.0, step=60.0, key="ns_budget",
                              help="How long each classic strategy may train cells for.")
    budget = float(seconds) or None
    slots["budget"] = c3.empty()

with st.expander("Deploy to a device: latency and size limits, accuracy-latency front",
                 expanded=bool(state["ns_limit_devices"] or state["ns_pareto"])):
    c1, c2 = st.columns(2)
    latency_table = c1.text_input(
        "Latency table", key=f"ns_latency_{sid}",
        help="Milliseconds per forward pass of every cell on each device (NAS-Bench-201: "
             "hw/nb201_latency.csv, 27 devices). Without one, limit the latency on this machine "
             "(here), measured as the search runs. Set it on the Data page.", max_chars=MAX_TEXT)
    slots["latency"] = c1.empty()
    devices = forms.latency_devices(latency_table.strip())
    state["ns_limit_devices"] = [d for d in state["ns_limit_devices"] if d in devices]
    limited = c2.multiselect("Latency limits on", devices, key="ns_limit_devices", select_all=False,
                             format_func=forms.device_label,
                             help="Every method ranks, samples and returns only cells within "
                                  "each device's budget.")
    max_latency = []
    for device in limited:
        formstate.default(state, {f"ns_maxlat_{device}": 10.0})
        ms = c2.number_input(f"Budget on {forms.device_label(device)} (ms)", min_value=0.0,
                             step=0.5, key=f"ns_maxlat_{device}",
                             help=forms.percentiles_note(latency_table.strip(), space, device))
        max_latency.append(f"{device}:{ms:g}")
    slots["max_latency"] = c2.empty()
    a, b = c1.columns(2)
    max_params = a.number_input("Max parameters (M, 0: none)", min_value=0.0, step=0.1,
                                key="ns_max_params")
    max_flops = b.number_input("Max FLOPs (M, 0: none)", min_value=0.0, step=10.0,
                               key="ns_max_flops")
    slots["max_params"], slots["max_flops"] = c1.empty(), c1.empty()
    if state["ns_pareto"] not in ["", *devices]:
        state["ns_pareto"] = ""
    pareto = c2.selectbox("Accuracy-latency front on", ["", *devices], key="ns_pareto",
                          format_func=lambda d: "off (one cell per method)" if not d
                          else forms.device_label(d),
                          help="Each method returns its front of (accuracy, latency), scored "
                               "by hypervolume and IGD against the true front; nsga2 searches "
                               "it directly.")
    slots["pareto"] = c2.empty()

with st.expander("Run on a Ray cluster"):
    backend = st.radio("Backend", BACKENDS, horizontal=True, key="ns_backend",
                       help="local: worker processes on this machine; ray: tasks on a Ray cluster "
                            "(a private local instance, or the cluster at an address).")
    ray_address = ""
    if backend == "ray":
        ray_address = st.text_input("Cluster address (empty: a private local instance)",
                                    key="ns_ray_address", help="HOST:PORT of the head node, or auto.", max_chars=MAX_TEXT)
        if ray_address and st.button("Connect and show the cluster", key="ns_ray_info"):
            with st.spinner("Asking the cluster (up to 30 s)…"):
                cluster = forms.cluster_info(ray_address)
            if cluster.get("ok"):
                st.success(f"{len(cluster['nodes'])} node(s), {cluster['cpus']:g} CPUs, "
                           f"{cluster['gpus']:g} GPUs (Ray {fmt.md_escape(cluster['ray_version'])})")
            else:
                st.error(fmt.md_escape(cluster.get("error", "no answer")))
    slots["backend"], slots["ray_address"] = st.empty(), st.empty()

config = SearchConfig(space=space.spec, dataset=dataset, data=data_path.strip(),
                      truth=truth.strip(), report=report, pool=str(pool), proxy=proxy,
                      fine=str(fine), baselines=tuple(baselines), params=str(params),
                      train_samples=int(train_samples), costs=costs.strip(),
                      table12=table12.strip(), budget=budget, backend=backend,
                      ray_address=ray_address.strip(), latency=latency_table.strip(),
                      max_latency=tuple(max_latency), max_params=float(max_params) or None,
                      max_flops=float(max_flops) or None, pareto=pareto, **values)
errors = config.errors()
for name, message in errors.items():
    if name in slots:
        slots[name].error(fmt.md_escape(message), icon="⚠️")
    else:
        st.error(fmt.md_escape(f"{name}: {message}"), icon="⚠️")

with st.expander("The same search on the command line"):
    st.code(form.command_line(config), language="bash", wrap_lines=True)

if errors:
    st.caption(f"Fix the {len(errors)} field(s) marked above to start.")
else:
    est = _estimate(config.to_dict(), forms.resolve_device(config.device, info.get("device", "cpu")),
                    throughput.load())
    a, b, c = st.columns(3)
    a.metric("Networks to score", f"{est.networks:,}")
    b.metric("Networks to train", f"{est.trained:,}")
    c.metric("Expected time", fmt.seconds(est.seconds),
             help="Start-up, scoring and training; the steps below show the arithmetic.")
    if (long_run := estimate.warning(est, config)) is not None:
        st.warning(fmt.md_escape(long_run), icon="⏳")
    if (too_big := _memory_warning(config.to_dict())) is not None:
        st.warning(fmt.md_escape(too_big), icon="🧠")
    st.info(fmt.md_escape(estimate.summary(est, config)) + "\n\n"
            + "\n".join(f"- {fmt.md_escape(line)}" for line in est.lines()))
    st.caption("Seconds per network come from the jobs this machine has run (\"measured here\"); "
               "until a proxy has run here, its reference figure stands in. Cells already in "
               "the score cache take no time.")

store = widgets.job_store()
existing = config.key() in store.ids()
job_state = store.state(config.key()) if existing and not errors else None
formstate.remember(state)
if job_state is not None and job_state.status == JobStatus.FINISHED:
    st.info("This exact search has run before and finished. Open its results, or run it again "
            "from the start as a new job (scores in the cache are reused; its old events are "
            "replaced).", icon="🔁")
    a, b = st.columns(2)
    if a.button("Open the finished search", type="primary", key="ns_open", icon="📂"):
        st.switch_page(widgets.LIVE.path, query_params={"job": config.key()})
    if b.button("Run it again fresh", key="ns_rerun", icon="🚀"):
        store.delete(config.key())
        st.switch_page(widgets.LIVE.path, query_params={"job": jobs.start(config, store)})
else:
    if job_state is not None:
        st.caption(f"This exact search exists already ({job_state.status}): Start opens it"
                   + (" and resumes it from the cache." if job_state.status.can_resume
                      else "."))
    if st.button("Start search", type="primary", disabled=bool(errors), key="ns_start", icon="🚀"):
        job_id = jobs.start(config, store)
        st.switch_page(widgets.LIVE.path, query_params={"job": job_id})
