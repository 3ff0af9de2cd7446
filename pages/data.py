"""Data: which datasets and ground-truth tables the app uses, downloads, conversion and the cache."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from knas import fmt, jobs, paths, spaces
from knas.data import benchmark, datasets, download, latency, readers, textdownload
from knas.data import text as text_data
from knas.errors import KnasError
from knas.scoring.cache import ScoreCache
from knas.ui import machine, settings, textdata, widgets
from knas.fmt import md_escape, md_escape_with_links
from knas.search.checks import MAX_TEXT

SPACE = spaces.get()  # the tables set here are the default space's
TABLES = {"truth": "Ground truth (200 epochs)", "table12": "12-epoch table (cheap fine stage)",
          "costs": f"Training costs ({SPACE.label}'s recorded seconds per cell)",
          "latency": "Latency on devices (latency_ms_<device> per cell)"}


def _path(text: str) -> Path:
    return Path(text.strip().strip('"').strip("'")).expanduser()


def _dataset_status(name: str, path: str) -> tuple[str, bool]:
    """A one-line state for a dataset path, judged by names only (nothing is unpickled)."""
    if not path:
        return "not set", False
    p = Path(path)
    if not p.exists():
        return f"{md_escape(path)} does not exist", False
    kind = readers.detect(p)
    if kind is None:
        return f"{md_escape(path)} holds no dataset in a known layout", False
    return f"{kind} at {md_escape(path)}", True


def _next_step(name: str) -> str:
    how = ["download it below"] if name in download.SOURCES else []
    how.append(f"put it in {md_escape(paths.data_root())} in its official layout "
               f"({md_escape(datasets.info(name).folder)}/)")
    how.append("or point to a folder or .npz that holds it under “Use a dataset at a path”")
    return "Next step: " + ", ".join(how) + "."


def _save(update) -> None:
    current = settings.load()
    update(current)
    settings.save(current)


def _dataset_boxes() -> None:
    """One box per dataset: drawn after the forms below, so a save shows at once."""
    app, found = widgets.app_settings(), machine.find_datasets()
    for name in readers.BENCHMARK_DATASETS:
        path = app.dataset_path(name)
        state, ok = _dataset_status(name, path)
        origin = " (found in the data folder)" if path and found.get(name) == path else ""
        if ok:
            st.success(f"**{datasets.info(name).label}**: {state}{origin}")
        else:
            st.warning(f"**{datasets.info(name).label}**: missing — {state}. {_next_step(name)}")


def _found_elsewhere() -> None:
    """Datasets in the usual places that the settings do not use yet, one click each."""
    app = widgets.app_settings()
    for name, path in machine.find_datasets(machine.usual_data_roots()).items():
        if app.dataset_path(name) == path:
            continue
        left, right = st.columns([4, 1])
        left.info(f"Found **{datasets.info(name).label}** at {md_escape(path)}")
        if right.button("Use it", key=f"data_use_{name}"):
            _save(lambda s, n=name, p=path: s.datasets.__setitem__(n, p))
            st.rerun()


def _text_boxes() -> None:
    state, ok = textdata.encoder_state()
    (st.success if ok else st.warning)(f"**Encoder**: {md_escape(state)}")
    app = widgets.app_settings()
    for name in text_data.NAMES:
        state, ok = textdata.dataset_state(name, app.dataset_path(name))
        label = text_data.text_info(name).label
        if ok:
            st.success(f"**{label}**: {md_escape(state)}")
        else:
            st.warning(f"**{label}**: missing — {md_escape(state)}. Download it below or give "
                       "its folder.")


def _table_boxes() -> None:
    app = widgets.app_settings()
    for field, label in TABLES.items():
        current = getattr(app, field)
        if not current and field == "latency":
            st.info(f"**{label}**: not set (optional: for latency limits and fronts). NAS-Bench-201's "
                    "covers 27 devices (HW-NAS-Bench, BRP-NAS); give its CSV below.")
        elif not current:
            st.warning(f"**{label}**: not set. Next step: give a CSV (`index,arch_str,…`) or an "
                       "official NAS-Bench-201 `.pth` below.")
        elif not Path(current).is_file():
            st.warning(f"**{label}**: {md_escape(current)} does not exist. Next step: give its new "
                       "path below.")
        else:
            st.success(f"**{label}**: {md_escape(current)}")


widgets.page_setup("Data")
st.title("Data")
st.caption("Where the datasets and ground-truth tables are. Choices are kept in "
           f"{md_escape(settings.path())} and shared by every page, worker and restart.")

# --- datasets ------------------------------------------------------------------------------------
st.header("Datasets")
dataset_boxes = st.container()  # filled at the end of the page, after any save below
_found_elsewhere()

with st.form("dataset_form"):
    st.subheader("Use a dataset at a path")
    name = st.selectbox("Dataset", readers.BENCHMARK_DATASETS, format_func=lambda n: datasets.info(n).label,
                        key="data_ds_name")
    text = st.text_input("Folder (official layout or one sub-folder per class) or .npz file",
                         key="data_ds_path", placeholder=str(paths.data_root() / "cifar-10-batches-py"), max_chars=MAX_TEXT)
    st.caption("The CIFAR and ImageNet16 files are Python pickles: reading them runs code stored in "
               "them. Point only at copies you trust. `.npz` files are read without pickle.")
    submitted = st.form_submit_button("Check and save", key="data_ds_submit")
if submitted:
    if not text.strip():
        st.error("Give a path first.")
    else:
        path = _path(text)
        try:
            with st.spinner(f"Reading the test split of {md_escape(path)}…"):
                sample = readers.load_named(name, path, "test")
        except (readers.DataError, ValueError, OSError) as err:
            st.error(f"Not saved: {md_escape(err)}")
        else:
            _save(lambda s: s.datasets.__setitem__(name, str(path)))
            h, w = sample.images.shape[1:3]
            st.success(f"Saved {datasets.info(name).label} = {md_escape(path)}: {len(sample):,} test images of {h}×{w}, "
                       f"{sample.num_classes} classes.")

st.subheader("Download")
st.caption(f"From the official source into {md_escape(paths.data_root())} (set `KNAS_DATA_DIR` to change it), "
           "with an MD5 check. ImageNet16-120 has no public download: place it by hand.")
for name in download.SOURCES:
    if st.button(f"Download {datasets.info(name).label}", key=f"data_download_{name}"):
        bar = st.progress(0.0, text=f"Connecting to {download.SOURCES[name].url}…")

        def progress(done: int, total: int | None, bar=bar) -> None:
            fraction = min(done / total, 1.0) if total else 0.0
            size = fmt.size(done) + (f" of {fmt.size(total)}" if total else "")
            bar.progress(fraction, text=f"Downloading: {size}")

        try:
            folder = download.download(name, paths.data_root(), progress=progress)
        except (readers.DataError, ValueError, OSError) as err:
            bar.empty()
            st.error(md_escape_with_links(err))
        else:
            bar.progress(1.0, text="Done")
            _save(lambda s, n=name, f=folder: s.datasets.__setitem__(n, str(f)))
            st.success(f"{datasets.info(name).label} is ready at {md_escape(folder)} and saved as the {datasets.info(name).label} dataset.")

# --- text ----------------------------------------------------------------------------------------
st.header("Text data")
st.caption("For the text space: sentence classification on a frozen MiniLM encoder.")
text_boxes = st.container()  # filled at the end of the page, after any save below
with st.form("text_form"):
    name = st.selectbox("Text data set", text_data.NAMES, key="data_text_name",
                        format_func=lambda n: text_data.text_info(n).label)
    typed = st.text_input("Folder holding its files (or their parent)", key="data_text_path",
                          max_chars=MAX_TEXT)
    submitted = st.form_submit_button("Check and save", key="data_text_submit")
if submitted and typed.strip():
    try:
        sizes = textdata.check(name, _path(typed))
    except (KnasError, OSError) as err:
        st.error(f"Not saved: {md_escape(err)}")
    else:
        _save(lambda s, n=name, p=str(_path(typed)): s.datasets.__setitem__(n, p))
        st.success(f"Saved {text_data.text_info(name).label} = {md_escape(_path(typed))}: {sizes}.")
for column, name in zip(st.columns(len(text_data.NAMES)), text_data.NAMES):
    if column.button(f"Download {text_data.text_info(name).label}", key=f"data_text_download_{name}"):
        try:
            folder = textdownload.download_text(name, paths.data_root())
        except (KnasError, OSError) as err:
            st.error(md_escape_with_links(err))
        else:
            _save(lambda s, n=name, f=str(folder): s.datasets.__setitem__(n, f))
            st.success(f"{text_data.text_info(name).label} is ready at {md_escape(folder)}.")

# --- ground truth --------------------------------------------------------------------------------
st.header("Ground-truth tables")
table_boxes = st.container()  # filled at the end of the page, after any save below

with st.form("table_form"):
    st.subheader("Use a table at a path")
    field = st.selectbox("Table", list(TABLES), format_func=TABLES.get, key="data_table_field")
    text = st.text_input(f"CSV or official {SPACE.label} .pth", key="data_table_path", max_chars=MAX_TEXT)
    st.caption("⚠️ Converting a `.pth` unpickles it, which can run code stored in the file. It runs "
               "once, in a separate process, for a file you name here; the converted table is cached "
               "and later loads read only the cache.")
    trusted = st.checkbox("I trust this .pth file (needed only for .pth)", key="data_table_trust")
    submitted = st.form_submit_button("Check and save", key="data_table_submit")
if submitted:
    path = _path(text) if text.strip() else None
    if path is None:
        st.error("Give a path first.")
    elif not path.is_file():
        st.error(f"Not saved: {md_escape(path)} is not a file.")
    else:
        table = None
        try:
            if path.suffix.lower() in SPACE.native_table_suffixes:
                if not trusted:
                    raise benchmark.BenchmarkError("tick “I trust this .pth file” to convert it")
                with st.spinner("Converting (a few minutes for the full benchmark)…"):
                    st.caption(md_escape(SPACE.convert_native_table(path)))
            loaded = benchmark.load_table(path, SPACE) if field != "latency" \
                else latency.load(path, SPACE).frame
            problem = benchmark.kind_problem(loaded, field, SPACE) if field != "latency" else None
            if problem:  # e.g. a 12-epoch table offered as the costs table
                raise benchmark.BenchmarkError(problem)
            table = loaded
        except (KnasError, OSError) as err:
            st.error(f"Not saved: {md_escape(err)}")
        if table is not None:
            _save(lambda s: setattr(s, field, str(path)))
            st.success(f"Saved {TABLES[field]} = {md_escape(path)}: {len(table):,} cells, columns "
                       f"{md_escape(', '.join(map(str, table.columns)))}.")

# --- cache ---------------------------------------------------------------------------------------
st.header("Cache")
scores = ScoreCache()
try:
    entries, score_bytes = len(scores), scores.size_bytes()
finally:
    scores.close()
a, b, c = st.columns(3)
a.metric("Cached scores", f"{entries:,}",
         help=f"{fmt.size(score_bytes)} in {md_escape(scores.directory)}")
b.metric("Runtime folder", fmt.size(machine.folder_size(paths.root())),
         help=f"{md_escape(paths.root())}: scores, jobs and settings")
c.metric("Converted tables", fmt.size(machine.folder_size(paths.tables_dir())),
         help=md_escape(paths.tables_dir()))

store = widgets.job_store()
running = store.active_ids()
with st.expander("Clear the score cache"):
    st.write("Removes every cached proxy score; jobs keep their results, but any search run again "
             "scores its cells from scratch.")
    if running:
        st.info(f"{len(running)} job(s) are queued or running; the cache cannot be cleared until they end.")
    typed = st.text_input(f"Type {jobs.CONFIRM_WORD} to confirm", key="data_clear_word", max_chars=MAX_TEXT)
    if st.button("Clear score cache", type="primary", key="data_clear"):
        try:
            removed = jobs.clear_score_cache(typed, store=store)
        except jobs.JobError as err:
            st.error(md_escape(err))
        else:
            st.success(f"Cleared {removed:,} cached scores.")

with dataset_boxes:
    _dataset_boxes()
with table_boxes:
    _table_boxes()
with text_boxes:
    _text_boxes()
