"""A search space as an object the rest of the code is handed, never a module it imports.

A space is a finite set of cells, each a choice for every one of its ``decisions()`` (the
categorical choices that define a cell, as Optuna's distributions define a trial). Cells are
numbered 0 .. size-1 (by default mixed radix, the first decision most significant), so a pool,
an event, a score and a ground-truth row name a cell by its index in any space. Everything else
has a generic default that a space overrides where it knows better: the arch string, its
neighbours one decision away, a canonical form for cells that compute the same function, closed
form parameter and FLOP counts, a diagram, the columns of its ground-truth tables.

A space's networks are built by ``build`` (the only method that needs torch) and expose what the
proxies need (``knas.proxies.contract``); ``capabilities`` declares that up front, so a search
that cannot work is refused before any work. Torch-free.
"""
from __future__ import annotations

import difflib
import functools
import math
import random
from dataclasses import dataclass

from knas.errors import KnasError
from knas.spaces.diagram import NEUTRAL, RADIUS, Diagram, Edge, Node


class ArchError(KnasError, ValueError):
    """A malformed architecture string, tuple or index."""


@dataclass(frozen=True)
class Decision:
    """One categorical choice that defines a cell: a name (stable: searches and forms key on it),
    a label for people and the choices in their canonical order."""
    name: str
    label: str
    choices: tuple


@dataclass(frozen=True)
class TruthColumns:
    """Where a space's ground-truth tables keep a data set's results: the column a search may
    pick by (validation), the one it reports (test), a short-schedule column for simulated
    multi-trial searches ("" when the space has none), the recorded training seconds and the
    recorded parameter count."""
    valid: str
    test: str
    short: str = ""
    cost: str = ""
    params: str = ""  # parameters in millions as the table records them ("" : none)


class SearchSpace:
    """The base every space derives from (see the module doc). A subclass sets ``name`` and
    ``label`` and defines ``decisions()`` and ``build()``; the rest is optional."""

    name = ""  # the registry name: ``--space NAME``
    label = ""  # for people
    description = ""
    cell_noun = "cell"
    datasets: tuple = ()  # knas.data.readers.datasets names whose images the networks take ("" : any)
    # What its networks offer the proxies (knas.proxies.contract); None: found on each network.
    capabilities: frozenset | None = None
    palette: dict = {}  # choice -> colour in diagrams
    published: tuple = ()  # knas.results.references.Reference rows: published results on it
    train_recipe: dict = {}  # knas.search.train.TrainSettings fields its networks train with
    train_seconds_guess: float = 0.0  # CPU seconds per training sample before any is measured
    recorded_on: str = ""  # the device its tables' recorded training times come from ("GPU")
    # The op of each index of an edge of its supernet (``build_supernet``); () : it has none, and
    # the one-shot searches (``knas.oneshot``) are refused for it.
    supernet_ops: tuple = ()

    # --- what a subclass defines -------------------------------------------------------------

    def decisions(self) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} defines no decisions()")

    def build(self, arch, num_classes: int, prune: bool = False):
        """The ``torch.nn.Module`` of a cell, weights drawn from torch's global generator.
        ``prune`` may skip work that cannot change any score; a space may ignore it."""
        raise NotImplementedError(f"{type(self).__name__} defines no build()")

    def build_supernet(self, num_classes: int, channels: int, n_cells: int):
        """Every op on every edge (``knas.spaces.nb201.supernet`` says what it must offer)."""
        raise NotImplementedError(f"{type(self).__name__} has no supernet")

    # --- identity --------------------------------------------------------------------------------

    # What a config names it by: the registry name, or ``/abs/path/file.py:ClassName`` for a space
    # defined in a file (``knas.spaces.get`` sets it), so worker processes can load it again.
    spec = ""
    source_digest = ""  # a file space's source hash: editing the file renews its cached scores

    @property
    def cache_id(self) -> str:
        """What the score cache keys this space's cells under (a space that changes what its
        networks compute must change it, so old scores are never reused)."""
        return f"{self.name}@{self.source_digest}" if self.source_digest else self.name

    def cell_key(self, arch, shared: bool) -> str:
        """A cell in a score-cache key: its canonical form when the score is shared between
        cells of the same function, else its arch string."""
        return f"{self.cache_id}/{self.canonical(arch) if shared else self.format(arch)}"

    def __repr__(self) -> str:
        return f"<search space {self.name}: {self.size:,} cells>"

    # --- cells and indices -------------------------------------------------------------------------

    @functools.cached_property
    def _decisions(self) -> tuple:
        decisions = tuple(self.decisions())
        if not decisions:
            raise ArchError(f"space {self.name!r} has no decisions")
        names = [d.name for d in decisions]
        if len(set(names)) != len(names):
            raise ArchError(f"space {self.name!r} repeats a decision name: {names}")
        for d in decisions:
            if len(d.choices) < 1 or len(set(map(str, d.choices))) != len(d.choices):
                raise ArchError(f"space {self.name!r}: decision {d.name!r} needs distinct choices, "
                                f"got {d.choices!r}")
        return decisions

    @property
    def size(self) -> int:
        return math.prod(len(d.choices) for d in self._decisions)

    def arch_at(self, index) -> tuple:
        """The cell at an index (mixed radix, the first decision most significant)."""
        index = self._check_index(index)
        out = []
        for d in reversed(self._decisions):
            index, digit = divmod(index, len(d.choices))
            out.append(d.choices[digit])
        return tuple(reversed(out))

    def index_of(self, arch) -> int:
        ops = self.validate(arch)
        index = 0
        for d, choice in zip(self._decisions, ops):
            index = index * len(d.choices) + d.choices.index(choice)
        return index

    def _check_index(self, index) -> int:
        if not isinstance(index, int) or isinstance(index, bool):
            raise ArchError(f"index must be an int, got {type(index).__name__}")
        if not 0 <= index < self.size:
            raise ArchError(f"index {index} out of range 0..{self.size - 1}")
        return index

    def validate(self, arch) -> tuple:
        """An arch string, index or choice tuple as the choice tuple, with the exact fault."""
        if isinstance(arch, str):
            return self.parse(arch)
        if isinstance(arch, int) and not isinstance(arch, bool):
            return self.arch_at(arch)
        ops = tuple(arch)
        if len(ops) != len(self._decisions):
            raise ArchError(f"a {self.cell_noun} of {self.name} has {len(self._decisions)} "
                            f"decisions, got {len(ops)}")
        for d, choice in zip(self._decisions, ops):
            if choice not in d.choices:
                raise ArchError(f"{d.name}: unknown choice {choice!r}{did_you_mean(choice, d.choices)}; "
                                f"valid: {', '.join(map(str, d.choices))}")
        return ops

    # --- arch strings (``name=value|name=value``) ---------------------------------------------

    def format(self, arch) -> str:
        ops = self.validate(arch)
        return "|".join(f"{d.name}={choice}" for d, choice in zip(self._decisions, ops))

    def parse(self, text) -> tuple:
        if not isinstance(text, str):
            raise ArchError(f"arch string must be a str, got {type(text).__name__}")
        parts = [p for p in text.strip().split("|") if p.strip()]
        if not parts:
            raise ArchError("empty arch string")
        given = {}
        for part in parts:
            name, sep, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not sep:
                raise ArchError(f"{part!r} is not NAME=VALUE (e.g. {self.format(self.arch_at(0))})")
            if name in given:
                raise ArchError(f"decision {name!r} given twice")
            given[name] = value
        known = [d.name for d in self._decisions]
        unknown = [n for n in given if n not in known]
        if unknown:
            raise ArchError(f"unknown decision {unknown[0]!r}{did_you_mean(unknown[0], known)}; "
                            f"{self.name} decides {', '.join(known)}")
        missing = [n for n in known if n not in given]
        if missing:
            raise ArchError(f"missing decision(s) {', '.join(missing)}")
        ops = []
        for d in self._decisions:
            by_text = {str(c): c for c in d.choices}
            if given[d.name] not in by_text:
                raise ArchError(f"{d.name}: unknown choice {given[d.name]!r}"
                                f"{did_you_mean(given[d.name], list(by_text))}; valid: "
                                f"{', '.join(by_text)}")
            ops.append(by_text[given[d.name]])
        return tuple(ops)

    # --- moving through the space -----------------------------------------------------------

    def sample(self, n: int, seed: int) -> list[int]:
        """``n`` distinct indices without replacement, reproducibly for a seed."""
        if not 0 <= n <= self.size:
            raise ValueError(f"cannot sample {n} {self.cell_noun}s from a space of {self.size}")
        return random.Random(seed).sample(range(self.size), n)

    def neighbours(self, arch) -> list[tuple]:
        """Every cell that differs on exactly one decision, decision by decision."""
        ops = self.validate(arch)
        out = []
        for e, (d, current) in enumerate(zip(self._decisions, ops)):
            for choice in d.choices:
                if choice != current:
                    out.append(ops[:e] + (choice,) + ops[e + 1:])
        return out

    def mutate(self, arch, rng) -> tuple:
        """Regularized evolution's mutation: one decision drawn uniformly (among those with a
        choice to change to), then a different choice (``rng``: a numpy Generator)."""
        ops = self.validate(arch)
        open_ = [e for e, d in enumerate(self._decisions) if len(d.choices) > 1]
        if not open_:
            return ops
        e = open_[int(rng.integers(0, len(open_)))]
        others = [c for c in self._decisions[e].choices if c != ops[e]]
        return ops[:e] + (others[int(rng.integers(0, len(others)))],) + ops[e + 1:]

    # --- functions and sizes --------------------------------------------------------------------

    def canonical(self, arch) -> str:
        """A key equal for cells that compute the same function at initialisation."""
        return self.format(arch)

    def representative(self, index: int) -> int:
        """The cell whose score stands for every cell of the same function."""
        return self._check_index(index)

    def same_function(self, index: int) -> list[int] | None:
        """Every cell computing what ``index`` computes, when the space can list them."""
        return None

    def live(self, arch) -> tuple:
        """Per decision: can it change the output? (False ones are drawn faded.)"""
        return (True,) * len(self.validate(arch))

    def count_params(self, arch, num_classes: int) -> int | None:
        return None

    def count_flops(self, arch, num_classes: int, resolution: int) -> int | None:
        return None

    def input_error(self, height: int, width: int) -> str | None:
        """Why images of this size cannot go through the space's networks (None: they can)."""
        return None

    # --- data --------------------------------------------------------------------------------------

    def load_data(self, dataset: str, path, split: str = "train"):
        """One split of ``dataset`` as this space's networks read it (a text space: encoder
        features or token ids); images by default."""
        from knas.data import readers

        return readers.load_named(dataset, path, split)

    def check_inputs(self) -> None:
        """Raise a ``KnasError`` saying how to fix it when something the networks read is missing
        on this machine (a frozen encoder's weights); nothing by default."""

    # --- ground truth ------------------------------------------------------------------------------

    def truth_columns(self, dataset: str) -> TruthColumns:
        return TruthColumns(valid=f"{dataset}_valid", test=f"{dataset}_test",
                            cost=f"train_seconds_{dataset}")

    def lookup_epochs(self, column: str) -> float | None:
        """How many epochs of training a looked-up accuracy column stands for (None: unknown)."""
        return None

    # Simulated multi-trial searches need a table of short-schedule results for every cell and
    # each cell's training seconds per epoch; a space without them runs those searches by real
    # training (``knas.search.classic``).
    short_epochs: int | None = None

    def seconds_per_epoch(self, dataset: str, costs_table=None):
        """(every cell's training seconds per epoch, estimated?) or None when unknown."""
        return None

    def default_budget(self, dataset: str) -> float | None:
        """The simulated budget of a multi-trial search on its tables (None: no default)."""
        return None

    # Ground-truth tables in a format of the space's own (NAS-Bench-201's .pth), read by
    # ``read_native_table``; every space reads the CSV layout (``knas.data.benchmark``).
    native_table_suffixes: tuple = ()

    def read_native_table(self, path, cache_dir, verify_order: bool, convert: bool):
        raise NotImplementedError

    def convert_native_table(self, path) -> str:
        """Convert a native table once (in a child process; it may run code stored in the
        file, so only with the user's consent); returns what the conversion printed."""
        raise NotImplementedError

    def require_converted(self, path, cache_dir=None) -> None:
        """Raise when a native table must be converted (with the user's consent) before use."""

    # A known defect of a benchmark's recorded parameter counts (``knas.data.check``).
    known_params_defect = ""

    def is_known_params_defect(self, arch, recorded: int, num_classes: int) -> bool:
        return False

    def module_source(self, arch, num_classes: int = 10) -> tuple[str, str] | None:
        """A stand-alone PyTorch file of the cell's network, (source, file name); None when
        the space cannot write one."""
        return None

    def train_seconds(self, index: int, dataset: str, epochs: float, costs_table=None):
        """(seconds to train the cell for ``epochs`` epochs, estimated?) or None when the space
        cannot say. By default from a costs table with this space's cost column (recorded for
        the epochs in its ``epochs_<dataset>`` column)."""
        columns = self.truth_columns(dataset)
        if costs_table is None or columns.cost not in costs_table.columns \
                or f"epochs_{dataset}" not in costs_table.columns or index not in costs_table.index:
            return None
        recorded = float(costs_table.at[index, columns.cost])
        recorded_epochs = float(costs_table.at[index, f"epochs_{dataset}"])
        if not (math.isfinite(recorded) and recorded_epochs > 0):
            return None
        return recorded * epochs / recorded_epochs, False

    # --- pictures --------------------------------------------------------------------------------

    def choice_label(self, choice) -> str:
        return str(choice)

    def colour(self, choice) -> str:
        return self.palette.get(choice, NEUTRAL)

    def diagram(self, arch) -> Diagram:
        """A chain of edges, one per decision labelled ``name=choice`` and coloured by choice,
        three to a row (a row's last node starts the next row), so any space fits 356 px."""
        ops = self.validate(arch)
        per_row, step, first_y, row_height = 3, 100, 34, 62
        nodes, edges = [], []
        for i, (d, choice, live) in enumerate(zip(self._decisions, ops, self.live(ops))):
            row, col = divmod(i, per_row)
            y = first_y + row * row_height
            x0, x1 = 28 + step * col, 28 + step * (col + 1)
            if col == 0:
                nodes.append(Node(str(i), x0, y, "input" if i == 0 else ""))
            last = i == len(ops) - 1
            nodes.append(Node(str(i + 1), x1, y, "output" if last else ""))
            a, b = (x0 + RADIUS, y), (x1 - RADIUS, y)
            mid = ((a[0] + b[0]) / 2, y)
            arrow = (b, (b[0] - 8, y - 4.5), (b[0] - 8, y + 4.5))
            edges.append(Edge(choice, live, a, mid, b, arrow, (mid[0], y - 13),
                              f"{d.name}={self.choice_label(choice)}", self.colour(choice)))
        rows = -(-len(ops) // per_row)
        legend = tuple((colour, self.choice_label(c)) for c, colour in self.palette.items())
        return Diagram(28 * 2 + step * per_row, first_y + rows * row_height + 10, tuple(nodes),
                       tuple(edges), legend)


def did_you_mean(typed, options) -> str:
    """`` (did you mean X?)`` for a mistyped name, or "" when nothing is close enough."""
    options = [str(o) for o in options]
    near = difflib.get_close_matches(str(typed), options, n=1, cutoff=0.6)
    return f" (did you mean {near[0]}?)" if near else ""
