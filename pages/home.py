"""Home: what KNAS does, this machine, what is missing, the quick demo and the recent jobs.
The sidebar (navigation, device, cache size, running jobs) comes from ``knas.ui.widgets.page_setup``."""
import streamlit as st

from knas import fmt, jobs, paths, spaces
from knas.ui import formstate, widgets, forms
from knas.results import headline, jobprogress
from knas.errors import KnasError

widgets.page_setup("Home")
st.title("KNAS Studio")
default_space = spaces.get()
st.markdown(
    f"KNAS searches a cell space **without training the cells**: the {default_space.size:,} cells "
    f"of {default_space.label} by default, or a space of your own. It scores each "
    "randomly initialised network by **MGM**, the mean of the Gram matrix of per-sample gradients. "
    "It keeps the top-k cells by that score and picks the best of those with a cheap fine-grained "
    "step (a benchmark lookup or a short training run). "
    "Searches run in the background, so you can close the browser and come back to the results."
)

settings = widgets.app_settings()

st.subheader("This machine")
info = widgets.device_info()
cols = st.columns(4)
cols[0].metric("Device", info.get("device", "cpu").upper(), help=info.get("name", ""))
found = {name: path for name, path in settings.datasets.items() if path}
cols[1].metric("Datasets", len(found), help=", ".join(found) or "none found")
truth = widgets.load_truth(settings.truth) if settings.truth else None
cols[2].metric("Ground truth", "loaded" if truth is not None else "not set" if not settings.truth
               else "not usable")
cols[3].metric("Cache", fmt.size(widgets.folder_size(str(paths.root()))))
if info.get("error"):
    st.warning(f"Device check: {fmt.md_escape(info['error'])}. Searches run on the CPU.")
for name, path in found.items():
    st.caption(f"{name}: {fmt.md_code(path)}")
if truth is not None:
    st.caption(f"Ground truth: {fmt.md_code(settings.truth)} ({len(truth):,} cells)")

problems = forms.missing(settings)
if problems:
    st.subheader("Before you search")
    for problem in problems:
        st.warning(fmt.md_escape(problem))
    st.page_link(widgets.DATA.path, label="Open the Data page: download CIFAR-10, point to a folder, "
                 "load a table", icon="🗂️")

st.subheader("Quick demo search")
st.caption("MGM with n = 16 on 100 random cells, top-10 picked by CIFAR-10 validation accuracy, "
           "against random selection. About a minute on a CPU.")
demo = forms.demo_config(settings)
if demo is None:
    st.caption("The demo needs CIFAR-10 and a ground-truth table (see above).")
if st.button("Quick demo search", type="primary", disabled=demo is None, icon="⚡"):
    job_id = jobs.start(demo, widgets.job_store())
    st.switch_page(widgets.LIVE.path, query_params={"job": job_id})
st.page_link(widgets.NEW_SEARCH.path, label="Or set up your own search", icon="🚀")

@st.cache_data(show_spinner=False, max_entries=32)
def _headline(directory: str, job_id: str, n_events: int, space_spec: str, dataset: str) -> str:
    """A finished job's one line (``n_events`` keys the cache: a finished job never changes)."""
    line = headline.headline(jobs.JobStore(directory).events(job_id), spaces.get(space_spec),
                             dataset)
    return line.text if line is not None else ""


st.subheader("Recent jobs")
store = widgets.job_store()
ids = store.ids()
if not ids:
    st.caption("No jobs yet.")
for job_id in ids[:10]:
    try:
        state, config = store.state(job_id), store.config(job_id)
    except KnasError:
        continue  # deleted while we read
    link, again = st.columns([5, 1])
    link.page_link(widgets.LIVE.path, label=fmt.md_escape(jobprogress.job_label(job_id, config, state)),
                   query_params={"job": job_id}, icon="📈")
    if state.status.is_finished:
        text = _headline(str(store.directory), job_id, state.events, config.space,
                         config.dataset)
        if text:
            link.caption(fmt.md_escape(text))
    if again.button("Run again", key=f"home_again_{job_id}", icon="🔁",
                    help="Open New search filled with this job's settings."):
        formstate.fill(st.session_state, config)
        st.switch_page(widgets.NEW_SEARCH.path)
