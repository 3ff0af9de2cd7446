"""NAS-Bench-201 (Dong & Yang, ICLR 2020): 5 ops on the 6 edges of a 4-node cell, 15,625 cells,
as the space object the rest of the code is handed.

Everything specific to the benchmark lives in this folder: the cell grammar and the benchmark's
index order (``cells``), the network (``nets``), closed-form parameter and FLOP counts
(``costs``), which edges a forward pass may skip (``pruning``), the diagram (``diagram``), its
tables' columns per data set (``columns``), recorded training costs (``traincost``), the table
checker (``check``), the official ``.pth`` conversion (``official``) and the stand-alone module
export (``module_source``). Torch-free except ``build``.
"""
from __future__ import annotations

import functools

from knas.spaces import contract
from knas.spaces.base import Decision, SearchSpace, TruthColumns
from knas.spaces.nb201 import cells, columns, costs, diagram, published


class NB201Space(SearchSpace):
    name = "nb201"
    label = "NAS-Bench-201"
    description = ("NAS-Bench-201's 15,625 cells: 5 ops (none, skip, conv 1x1, conv 3x3, avg pool) "
                   "on the 6 edges of a 4-node cell, stacked 3 x 5 with residual reductions")
    datasets = columns.NAMES
    capabilities = contract.ALL
    palette = diagram.OP_COLOURS
    published = published.REFERENCES
    native_table_suffixes = (".pth", ".pt")  # official files, converted once (``official``)
    recorded_on = "GPU"  # NAS-Bench-201 trained and timed every cell on GPUs
    supernet_ops = cells.OPS

    def decisions(self) -> tuple:
        return tuple(Decision(f"edge_{dst}_{src}", f"edge {src}→{dst}", cells.OPS)
                     for dst, src in cells.EDGES)

    def build(self, arch, num_classes: int, prune: bool = False):
        from knas.spaces.nb201 import nets

        return nets.build(self.validate(arch), num_classes, prune=prune)

    def build_supernet(self, num_classes: int, channels: int = 16, n_cells: int = 5):
        from knas.spaces.nb201 import supernet

        return supernet.build(num_classes, channels, n_cells)

    @property
    def size(self) -> int:
        return cells.N_ARCHS

    # the benchmark's own index order and arch strings
    def arch_at(self, index) -> tuple:
        return cells.arch_at(index)

    def index_of(self, arch) -> int:
        return cells.index_of(arch)

    def validate(self, arch) -> tuple:
        return cells.validate(arch)

    def parse(self, text) -> tuple:
        return cells.parse(text)

    def format(self, arch) -> str:
        return cells.to_str(arch)

    def sample(self, n: int, seed: int) -> list[int]:
        return cells.sample(n, seed)

    def neighbours(self, arch) -> list[tuple]:
        return cells.neighbours(arch)

    def mutate(self, arch, rng) -> tuple:
        """AutoDL-Projects' mutate_arch: a random node, one of its inputs, a different op (so
        edge 1<-0 mutates with probability 1/3 and each edge into node 3 with 1/9)."""
        ops = cells.validate(arch)
        node = int(rng.integers(1, cells.N_NODES))
        edge = node * (node - 1) // 2 + int(rng.integers(0, node))
        others = [op for op in cells.OPS if op != ops[edge]]
        return ops[:edge] + (others[int(rng.integers(0, len(others)))],) + ops[edge + 1:]

    # functions, sizes and pictures
    def canonical(self, arch) -> str:
        return cells.canonical(arch)

    def representative(self, index: int) -> int:
        return cells.representative(cells.arch_at(index))

    def same_function(self, index: int) -> list[int]:
        return cells.canonical_groups()[cells.canonical(cells.arch_at(index))]

    def live(self, arch) -> tuple:
        return cells.live_edges(arch)

    def cell_key(self, arch, shared: bool) -> str:
        """Score-cache keys as before spaces were a setting (so every stored score stays valid)."""
        return cells.canonical(arch) if shared else cells.to_str(arch)

    def count_params(self, arch, num_classes: int) -> int:
        return costs.count_params(arch, num_classes)

    def count_flops(self, arch, num_classes: int, resolution: int) -> int:
        return costs.count_flops(arch, num_classes=num_classes, resolution=resolution)

    def input_error(self, height: int, width: int) -> str | None:
        if min(height, width) < 8 or height % 4 or width % 4:
            return (f"images of {height}×{width} pixels cannot be scored: the NAS-Bench-201 network "
                    "halves them twice, so each side must be a multiple of 4 and at least 8 "
                    "(CIFAR is 32×32, ImageNet16-120 16×16)")
        return None

    def choice_label(self, choice) -> str:
        return diagram.OP_LABELS.get(choice, str(choice))

    def diagram(self, arch):
        return diagram.diagram(arch)

    # its tables
    def truth_columns(self, dataset: str) -> TruthColumns:
        d = columns.BY_DATASET.get(dataset)
        if d is None:
            return super().truth_columns(dataset)
        return TruthColumns(valid=d.valid_column, test=d.test_column, short=d.table12_column,
                            cost=d.cost_column, params=d.params_column)

    def lookup_epochs(self, column: str) -> int:
        return columns.lookup_epochs(column)

    short_epochs = columns.SHORT_EPOCHS

    def train_seconds(self, index: int, dataset: str, epochs: float, costs_table=None):
        from knas.spaces.nb201 import traincost

        cost = traincost.train_cost(index, dataset, epochs, costs_table)
        return cost.seconds, cost.estimate

    def seconds_per_epoch(self, dataset: str, costs_table=None):
        """Every cell's training seconds per epoch (index order) and whether estimated."""
        from knas.spaces.nb201 import traincost

        return traincost.seconds_per_epoch(dataset, costs_table)

    def default_budget(self, dataset: str) -> float:
        return columns.BY_DATASET[dataset].default_budget

    def read_native_table(self, path, cache_dir, verify_order: bool, convert: bool):
        from knas.spaces.nb201 import official

        return official.load(path, cache_dir, verify_order, convert)

    def convert_native_table(self, path) -> str:
        from knas.spaces.nb201 import official

        return official.convert_table(path)

    def require_converted(self, path, cache_dir=None) -> None:
        from knas.spaces.nb201 import official

        official.require_converted(path, cache_dir)

    known_params_defect = ("hold the count of another cell of the same NAS-Bench-201 isomorphism "
                           "class (the benchmark's known 200-epoch cost-record defect, NATS-Bench "
                           "issue #36)")

    def is_known_params_defect(self, arch, recorded: int, num_classes: int) -> bool:
        members = _isomorphism_classes()[cells.benchmark_isomorphism_key(arch)]
        return any(costs.count_params(m, num_classes) == recorded for m in members)

    def module_source(self, arch, num_classes: int = 10) -> tuple[str, str]:
        """A stand-alone PyTorch file of the cell's network: (source, file name)."""
        from knas.spaces.nb201 import module_source

        return (module_source.arch_module_source(arch, num_classes),
                module_source.module_file_name(arch))


@functools.lru_cache(maxsize=1)
def _isomorphism_classes() -> dict[str, list]:
    """NAS-Bench-201's isomorphism key -> the cells that share it."""
    classes: dict[str, list] = {}
    for arch in cells.all_archs():
        classes.setdefault(cells.benchmark_isomorphism_key(arch), []).append(arch)
    return classes
