"""Check a ground-truth table against a space's implementation of its cells and networks.

Two things must agree for results to be trusted: index ``i`` names the same cell here and in the
table, and (where the space counts parameters in closed form and the table records them) our
network for that cell has the parameter count the table recorded.

A benchmark's records may carry a known defect the space can recognise (NAS-Bench-201's 200-epoch
cost records copy some cells' parameter counts from another cell of the same isomorphism class:
NATS-Bench issue #36, AutoDL-Projects issue #134); such rows are counted as mismatches and
reported apart, so a user can tell the benchmark's defect from an error in our network.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from knas.data import datasets


@dataclass
class Mismatch:
    index: int
    what: str  # "arch_str" or a params column
    table: str
    ours: str


@dataclass
class CheckReport:
    rows: int
    order_match: int
    params_rows: int  # rows with at least one params column
    params_match: int
    order_mismatches: list[Mismatch] = field(default_factory=list)
    params_mismatches: list[Mismatch] = field(default_factory=list)
    params_known_defect: list[Mismatch] = field(default_factory=list)
    known_defect: str = ""  # what the space says the known defect is

    @property
    def ok(self) -> bool:
        """True when every row agrees, apart from the benchmark's known defect."""
        return not self.order_mismatches and not self.params_mismatches

    def lines(self) -> list[str]:
        out = [
            f"index order: {self.order_match}/{self.rows} match",
            f"params: {self.params_match}/{self.params_rows} match",
        ]
        if self.params_known_defect:
            n_rows = len({m.index for m in self.params_known_defect})
            out.append(f"params: {n_rows} of the mismatching rows {self.known_defect}, not an error "
                       "in this network")
        return out


def params_columns(space) -> dict:
    """The table's parameter-count columns -> the head size (classes) each was recorded with."""
    return {space.truth_columns(d).params: datasets.info(d).num_classes
            for d in space.datasets if space.truth_columns(d).params}


def check_table(frame, space) -> CheckReport:
    """Compare a table (index -> arch_str and optional params columns, in millions) with ours."""
    columns = params_columns(space)
    param_cols = [c for c in columns if c in frame.columns]
    report = CheckReport(rows=len(frame), order_match=0, params_rows=0, params_match=0,
                         known_defect=space.known_params_defect)
    for index, row in zip(frame.index, frame.itertuples(index=False)):
        values = row._asdict()
        ours = space.format(space.arch_at(int(index)))
        if ours == values["arch_str"]:
            report.order_match += 1
        else:
            report.order_mismatches.append(Mismatch(int(index), "arch_str", values["arch_str"], ours))
        table_arch = space.parse(values["arch_str"])  # params of the cell the row names
        present = [c for c in param_cols if values[c] == values[c]]  # NaN != NaN
        if not present:
            continue
        report.params_rows += 1
        row_ok = True
        for col in present:
            recorded = round(float(values[col]) * 1e6)
            counted = space.count_params(table_arch, columns[col])
            if recorded == counted:
                continue
            row_ok = False
            miss = Mismatch(int(index), col, str(recorded), str(counted))
            if space.is_known_params_defect(table_arch, recorded, columns[col]):
                report.params_known_defect.append(miss)
            else:
                report.params_mismatches.append(miss)
        report.params_match += row_ok
    return report
