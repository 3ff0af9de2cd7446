"""knas.spaces: the search-space seam. NAS-Bench-201's scores are bitwise those of the code before
spaces were objects, a space defined in a file loads (or says exactly why not), the generic
space derives everything from its decisions, and no module outside NAS-Bench-201's folder knows
its ops or its size."""
import ast
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from knas import proxies, spaces
from knas.data import readers
from knas.scoring import scorer
from knas.scoring.raybackend import MemoryCache
from knas.spaces.base import Decision, SearchSpace
from tests.conftest import NB201, REPO

EXAMPLE = f"{REPO / 'examples' / 'tinycnn.py'}:TinyCNN"
RECORDED = Path(__file__).with_name("data") / "nb201_scores_41d1d5d.json"


def test_nb201_scores_are_bitwise_those_recorded_before_the_seam(shared_data):
    """40 random cells x every proxy, scored as the scorer scores them, equal to the values
    recorded on commit 41d1d5d (tests/data/README.md says how)."""
    recorded = json.loads(RECORDED.read_text())
    dataset = readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")
    batch = scorer.make_batch(dataset, recorded["n"], recorded["seed"], NB201)
    assert batch.digest == recorded["batch_digest"]
    settings = scorer.ScoreSettings(n=recorded["n"], seed=recorded["seed"])
    assert sorted(next(iter(recorded["scores"].values()))) == sorted(proxies.NAMES)
    for cell in recorded["cells"]:
        ours = scorer.Scorer(NB201, batch, settings, MemoryCache(), "cpu").score(
            cell, list(proxies.NAMES)).values
        for name, value in recorded["scores"][str(cell)].items():
            assert ours[name] == value or (math.isnan(value) and math.isnan(ours[name])), \
                (cell, name, value, ours[name])


# --- the registry and spaces in files ------------------------------------------------------------


def test_builtin_and_unknown_spaces():
    assert spaces.get() is spaces.get("nb201") and spaces.get().size == 15625
    with pytest.raises(spaces.SpaceError, match="unknown search space 'nb202'; built in: nb201"):
        spaces.get("nb202")
    assert spaces.is_file_spec("a/b.py:Space") and not spaces.is_file_spec("nb201")
    assert not spaces.is_file_spec("a/b.py:not-a-name")


def _space_file(tmp_path, body: str, name="space.py") -> Path:
    path = tmp_path / name
    path.write_text("from knas.spaces import SearchSpace\nfrom knas.spaces.base import Decision\n"
                    + body)
    return path


GOOD = '''
class Small(SearchSpace):
    name = "small"
    def decisions(self):
        return (Decision("a", "A", ("x", "y")), Decision("b", "B", (1, 2, 3)))
'''


def test_a_space_in_a_file_loads_and_its_edits_renew_its_cache_id(tmp_path):
    path = _space_file(tmp_path, GOOD)
    space = spaces.get(f"{path}:Small")
    assert space.size == 6 and space.spec == f"{path.resolve()}:Small"
    first = space.cache_id
    assert first.startswith("small@") and space.cell_key((("x", 1)), shared=True).startswith(first)
    path.write_text(path.read_text() + "\n# an edit\n")
    assert spaces.get(f"{path}:Small").cache_id != first


@pytest.mark.parametrize("body, spec_class, message", [
    ("", "Nope", "defines no 'Nope'"),
    ("x = (", "Small", r"line \d+: syntax error"),
    ("raise RuntimeError('boom')", "Small", r"line 3: loading it failed \(RuntimeError: boom\)"),
    ("class Small:\n    pass", "Small", "not a subclass of knas.spaces.SearchSpace"),
    (GOOD.replace('"small"', '"a b"'), "Small", "must be a short name"),
    (GOOD.replace('(1, 2, 3)', '(1, 1)'), "Small", "needs distinct choices"),
    (GOOD.replace('def decisions(self):', 'def decisions(self):\n        1 / 0'), "Small",
     r"line \d+: Small cannot be used \(ZeroDivisionError"),
])
def test_a_bad_space_file_says_what_is_wrong(tmp_path, body, spec_class, message):
    path = _space_file(tmp_path, body)
    with pytest.raises(spaces.SpaceError, match=message):
        spaces.get(f"{path}:{spec_class}")
    with pytest.raises(spaces.SpaceError, match="no such file"):
        spaces.get(f"{tmp_path / 'missing.py'}:Small")


# --- a space from its decisions alone ------------------------------------------------------------


class Grid(SearchSpace):
    name = "grid"

    def decisions(self):
        return (Decision("depth", "depth", (1, 2, 3)), Decision("op", "op", ("conv", "pool")),
                Decision("width", "width", (8, 16, 32, 64)))


def test_cells_indices_and_strings_round_trip():
    grid = Grid()
    assert grid.size == 24
    cells = [grid.arch_at(i) for i in range(grid.size)]
    assert len(set(cells)) == 24 and cells[0] == (1, "conv", 8) and cells[-1] == (3, "pool", 64)
    assert all(grid.index_of(c) == i and grid.parse(grid.format(c)) == c for i, c in enumerate(cells))
    assert grid.format((2, "pool", 16)) == "depth=2|op=pool|width=16"
    assert grid.validate("width=16|depth=2|op=pool") == (2, "pool", 16)  # any order


@pytest.mark.parametrize("text, message", [
    ("depth=2|op=pool", "missing decision.*width"), ("depth=2|op=pool|width=12", "unknown choice '12'"),
    ("depth=2|op=pol|width=8", "did you mean pool"), ("deep=2|op=pool|width=8", "did you mean depth"),
    ("depth=2|depth=3|op=pool|width=8", "given twice"), ("depth2", "not NAME=VALUE"), ("", "empty"),
])
def test_a_bad_arch_string_names_its_fault(text, message):
    with pytest.raises(spaces.ArchError, match=message):
        Grid().parse(text)


def test_neighbours_sample_and_mutation_follow_the_decisions():
    grid = Grid()
    cell = (2, "pool", 16)
    near = grid.neighbours(cell)
    assert len(near) == 2 + 1 + 3 and all(sum(a != b for a, b in zip(n, cell)) == 1 for n in near)
    assert grid.sample(5, 3) == grid.sample(5, 3) and len(set(grid.sample(24, 0))) == 24
    rng = np.random.default_rng(0)
    changed = Counter()
    for _ in range(3000):
        child = grid.mutate(cell, rng)
        diff = [e for e in range(3) if child[e] != cell[e]]
        assert len(diff) == 1
        changed[diff[0]] += 1
    assert all(count / 3000 == pytest.approx(1 / 3, abs=0.04) for count in changed.values())


def test_the_generic_diagram_draws_one_labelled_edge_per_decision():
    picture = Grid().diagram((2, "pool", 16))
    assert [e.label for e in picture.edges] == ["depth=2", "op=pool", "width=16"]
    assert len(picture.nodes) == 4 and picture.width == 356  # one row of three


# --- the seam holds --------------------------------------------------------------------------


def _app_modules():
    return [p for p in [*(REPO / "knas").rglob("*.py"), *(REPO / "pages").glob("*.py"),
                        REPO / "app.py"] if "nb201" not in p.relative_to(REPO).parts]


def test_no_module_outside_the_nb201_folder_knows_its_ops_or_its_size():
    pattern = re.compile(r"nor_conv|avg_pool_3x3|skip_connect|15,?625")
    found = [f"{p.relative_to(REPO)}:{n}" for p in _app_modules()
             for n, line in enumerate(p.read_text().splitlines(), start=1) if pattern.search(line)]
    assert found == []


def test_no_import_cycle_between_modules():
    """Module-level imports among knas's modules form no cycle (imports inside functions are
    how a light module reaches a heavy one late, and are left out)."""
    graph = {}
    for path in (REPO / "knas").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imports = []
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("knas"):
                imports.append((node.module, [alias.name for alias in node.names]))
            elif isinstance(node, ast.Import):
                imports += [(a.name, []) for a in node.names if a.name.startswith("knas")]
        graph[name] = imports
    modules = set(graph)
    for name, imports in graph.items():  # ``from pkg import module`` needs the module only
        targets = set()
        for module, names in imports:
            subs = {f"{module}.{n}" for n in names} & modules
            targets |= subs if subs and len(subs) == len(names) else {module} | subs
        graph[name] = {t for t in targets if t in modules and t != name}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_modules_stay_small():
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in
             [*(REPO / "knas").rglob("*.py"), *(REPO / "pages").glob("*.py")]}
    assert {name: lines for name, lines in sizes.items() if lines > 420} == {}


def test_the_readme_layout_table_names_every_folder_and_module_that_exists():
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Layout"):]
    table = table[:table.index("\n## ", 3)]
    named = set(re.findall(r"`((?:knas|pages|examples|benchmarks|tests|docs)/[\w/.]*)`", table))
    for entry in named:
        assert (REPO / entry.rstrip("/")).exists(), f"README names {entry}, which does not exist"
    for folder in [p for p in (REPO / "knas").rglob("*") if p.is_dir() and p.name != "__pycache__"]:
        rel = f"{folder.relative_to(REPO)}/"
        assert rel in named, f"README's layout table does not name {rel}"
    assert EXAMPLE  # the example the README's quick start points to
