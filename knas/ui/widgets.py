"""Streamlit glue shared by the pages: page setup and navigation, cached loaders, small widgets.

The only knas module that imports streamlit; like the pages, it never imports torch."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from knas import fmt, jobs, paths, spaces, stores
from knas.data import benchmark
from knas.errors import KnasError
from knas.results import cellsvg, columns, headline, jobprogress, runview
from knas.ui import formstate, machine, settings
from knas.search.checks import MAX_TEXT


def device_info() -> dict:
    """This boot's device, or ``machine.PENDING`` while the background probe runs (no page waits)."""
    return machine.device_info_now()


@st.cache_data(ttl=30, show_spinner=False)
def folder_size(path: str) -> int:
    """A folder's size, counted at most every 30 s (a large score cache takes a while to walk)."""
    return machine.folder_size(path)


@st.cache_data(show_spinner="Loading ground truth…")
def truth_table(path: str, mtime: float, space_spec: str):
    """The table, cached per path, modification time and space (a large table loads once)."""
    return benchmark.load_table(path, spaces.get(space_spec))


def load_latency(path: str, space):
    """The latency table at ``path`` (checked against ``space``), or None with a message."""
    if not path:
        return None
    from knas.search import constraints

    try:
        return constraints.load_table(path, space)
    except (OSError, KnasError) as err:
        st.warning(f"Latency table not usable: {fmt.md_escape(err)}")
        return None


def load_truth(path: str, space=None):
    """The table at ``path`` (of ``space``, the default one if None), or None with a message
    saying what is wrong."""
    from pathlib import Path

    if not path:
        return None
    try:
        return truth_table(path, Path(path).stat().st_mtime, (space or spaces.get()).spec)
    except (OSError, benchmark.BenchmarkError) as err:
        st.warning(f"Ground-truth table not usable: {fmt.md_escape(err)}")
        return None


def job_store() -> jobs.JobStore:
    """The job store; a page that cannot open it says why and stops (a damaged file is moved
    aside and replaced when it is opened, so this happens only when no store can be made)."""
    try:
        return jobs.JobStore()
    except stores.StoreError as err:
        st.error(fmt.md_escape(f"The job store cannot be used: {err}"), icon="🛑")
        st.stop()


@st.cache_resource(max_entries=64, show_spinner=False)
def event_feed(directory: str, job_id: str) -> runview.EventFeed:
    """The one event reader of a job that every session of this server shares."""
    return runview.EventFeed()


def app_settings() -> settings.AppSettings:
    return settings.load()


FILE_SPACE = formstate.FILE_SPACE


def space_picker(key: str, current: str = spaces.DEFAULT):
    """Pick a search space: a built-in one, or one defined in a Python file, which is loaded only
    after the user confirms they trust it (loading runs it, here and in the workers). Returns the
    space, or None with the reason shown. ``current``: the spec to show first."""
    builtin = list(spaces.BUILTIN)
    if key not in st.session_state:
        st.session_state[key] = current if current in builtin else FILE_SPACE
        if current not in builtin:
            st.session_state[f"{key}_file"] = current
    choice = st.selectbox("Search space", [*builtin, FILE_SPACE], key=key,
                          format_func=lambda n: n if n == FILE_SPACE else
                          f"{spaces.get(n).label} ({n})",
                          help="The cells to search. A space of your own is a subclass of "
                               "knas.spaces.SearchSpace in a Python file (examples/ has one).")
    if choice != FILE_SPACE:
        return spaces.get(choice)
    text = st.text_input("Space file", key=f"{key}_file", placeholder="path/to/file.py:ClassName", max_chars=MAX_TEXT)
    trusted = st.checkbox("I trust this file: loading it runs it as Python, here and in the "
                          "search's workers", key=f"{key}_trust")
    text = text.strip()
    if not text:
        st.info("Give the file and the class: path/to/file.py:ClassName.")
        return None
    if not spaces.is_file_spec(text):
        st.error(f"{fmt.md_code(text)} is not path/to/file.py:ClassName.")
        return None
    if not trusted:
        st.warning("Tick “I trust this file” to load it.")
        return None
    try:
        return spaces.get(spaces.absolute(text))
    except KnasError as err:
        st.error(fmt.md_escape(err))
        return None


def setting_input(setting, help: str = ""):
    """A ``knas.search.form.Setting`` as its widget (key ``ns_<name>``); returns the value."""
    key, help = f"{formstate.PREFIX}{setting.name}", help or setting.help
    if setting.choices:
        return st.selectbox(setting.label, setting.choices, key=key, help=help)
    if setting.kind in (int, float):
        value = st.number_input(setting.label, min_value=setting.minimum, key=key, help=help)
        return setting.kind(value)
    return st.text_input(setting.label, key=key, help=help, max_chars=MAX_TEXT).strip()


def show_arch(space, arch, title: str | None = None) -> None:
    """An architecture as its string (in st.code: markdown mangles `~`) and its cell diagram."""
    arch = space.validate(arch)
    st.code(space.format(arch), language=None)
    cell(space, arch, title)


def cell(space, arch, title: str | None = None) -> None:
    """The cell diagram: our own SVG (``knas.results.cellsvg``, every text in it escaped), the
    same size for every cell of a space. Through markdown's raw HTML, since ``st.html``'s
    sanitiser drops inline SVG."""
    st.markdown(f"<div class='knas-cell-box'>{cellsvg.cell_svg(space, arch, title)}</div>",
                unsafe_allow_html=True)


def cell_grid(space, items) -> None:
    """Several cell diagrams, each under its caption, in a row that wraps: at any width no
    diagram overlaps another or is cut (one too wide for the screen shrinks to fit). ``items``:
    (caption, arch) pairs; every text escaped."""
    figures = "".join(
        "<figure style='margin:0;flex:0 1 auto;max-width:100%'>"
        f"<figcaption style='font-size:.85rem;opacity:.75'>{fmt.html_escape(caption)}</figcaption>"
        f"{cellsvg.cell_svg(space, arch)}</figure>" for caption, arch in items)
    st.markdown("<style>.knas-cell-grid svg.knas-cell{max-width:100%;height:auto}</style>"
                f"<div class='knas-cell-grid' style='display:flex;flex-wrap:wrap;gap:1rem'>"
                f"{figures}</div>", unsafe_allow_html=True)


def result_cards(line) -> None:
    """A finished run's cards (``Headline.cards``)."""
    cards(line.cards())


def cards(items) -> None:
    """(label, value, note) cards in a row that wraps, never cutting a value (st.metric cuts
    "93.4…" in a narrow column); escaped HTML."""
    if items:
        st.markdown(headline.cards_html(items), unsafe_allow_html=True)


def cell_legend(space) -> None:
    st.markdown(cellsvg.legend_svg(space), unsafe_allow_html=True)


def table(frame, **kwargs):
    """``st.dataframe`` with people's column labels and formats (``knas.results.columns``), repeats
    counted from 1, a missing number as "—" (st.dataframe would print None), and no index;
    keyword arguments go to ``st.dataframe``."""
    config, shown = {}, columns.for_people(frame)
    for name in frame.columns:
        spec = columns.spec(name)
        if spec.kind == "number" and spec.format and pd.api.types.is_numeric_dtype(shown[name]) \
                and shown[name].isna().any():
            shown[name] = [columns.text(name, v) for v in shown[name]]
            config[name] = st.column_config.TextColumn(spec.label, help=spec.help or None)
        elif spec.kind == "flag":
            config[name] = st.column_config.CheckboxColumn(spec.label, help=spec.help or None)
        elif spec.kind == "text" or not spec.format:
            config[name] = st.column_config.TextColumn(spec.label, help=spec.help or None)
        else:
            config[name] = st.column_config.NumberColumn(spec.label, format=spec.format,
                                                         help=spec.help or None)
    config.update(kwargs.pop("column_config", {}))
    return st.dataframe(shown, hide_index=True, column_config=config, **kwargs)


@dataclass(frozen=True)
class PageInfo:
    path: str  # relative to app.py; its file name is the page's URL (/live?job=ID)
    title: str
    icon: str


# The app's pages, in the order the sidebar lists them: the one list the router reads.
HOME = PageInfo("pages/home.py", "Home", "🏠")
NEW_SEARCH = PageInfo("pages/new_search.py", "New search", "🚀")
LIVE = PageInfo("pages/live.py", "Live run", "📈")
COMPARE = PageInfo("pages/compare.py", "Compare", "⚖️")
EXPLORER = PageInfo("pages/explorer.py", "Explorer", "🧬")
DATA = PageInfo("pages/data.py", "Data", "🗂️")
PAGES = (HOME, NEW_SEARCH, LIVE, COMPARE, EXPLORER, DATA)


def navigation():
    """The router (``st.navigation``, Streamlit's recommended pattern): every page, Home the
    default; the sidebar below draws the links itself, with the running jobs under them."""
    return st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=p is HOME)
                          for p in PAGES], position="hidden")


MAX_QUERY = 300  # characters of a link parameter looked at; any web page can send a longer one


def query_param(name: str) -> tuple[str | None, str | None]:
    """A link parameter and, when it is longer than ``MAX_QUERY``, why it is not used: its start
    and its length, the value itself never parsed (a 100 kB ``?arch=`` froze every session)."""
    value = st.query_params.get(name)
    if value is None or len(value) <= MAX_QUERY:
        return value, None
    return None, (f"The link's {name}= is {len(value):,} characters long, more than any {name} "
                  f"({MAX_QUERY} at most): {fmt.clip(value, 40)!r} was not used.")


STYLE = Path(__file__).with_name("style.css")


def page_setup(title: str) -> None:
    """Every page starts here: browser title, wide layout, the shared sidebar."""
    st.set_page_config(page_title=f"{title} · KNAS Studio", page_icon="🔎", layout="wide")
    st.html(f"<style>{STYLE.read_text()}</style>")  # only a style: Streamlit gives it no space
    sidebar()
    for notice in stores.notices() + settings.load().problems:
        st.warning(fmt.md_escape(notice), icon="⚠️")


def sidebar() -> None:
    with st.sidebar:
        st.markdown("### KNAS Studio")
        for page in PAGES:
            st.page_link(page.path, label=page.title, icon=page.icon)
        st.divider()
        _device_caption()
        st.caption(f"Cache: {fmt.size(folder_size(str(paths.root())))}")
        try:
            store = jobs.JobStore()
            active = [(job_id, store.state(job_id)) for job_id in store.active_ids()[:5]]
        except KnasError as err:
            st.caption(f"⚠️ {fmt.md_escape(err)}")
            return
        if active:
            st.caption("Running jobs:")
            for job_id, state in active:
                label = f"{job_id[:8]} · {jobprogress.short_progress(state)}"
                st.page_link(LIVE.path, label=label, query_params={"job": job_id})


def _device_caption() -> None:
    info = device_info()
    if info.get("pending"):
        _device_pending()
        return
    st.caption(f"Device: **{fmt.md_escape(info.get('device', 'cpu').upper())}** — "
               f"{fmt.md_escape(info.get('name', ''))}")
    if info.get("error"):
        st.caption(f"⚠️ {fmt.md_escape(info['error'])}")


@st.fragment(run_every=1.0)
def _device_pending() -> None:
    """Polls while the background device probe runs; its answer redraws the page once."""
    if device_info().get("pending"):
        st.caption("Device: checking…")
    else:
        st.rerun()
