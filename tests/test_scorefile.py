"""knas.results.scorefile: scores CSVs written exactly and read back checked."""
import math

import numpy as np
import pandas as pd
import pytest

from knas.spaces.nb201 import costs, cells as space
from knas.results import scorefile
from tests.conftest import NB201, CELL_6111


def test_scores_csv_round_trips_exactly():
    indices = [6111, 0, 15624, 42, 7]
    frame = pd.DataFrame({
        "index": indices,
        "arch_str": [space.to_str(space.arch_at(i)) for i in indices],
        "mgm": [0.1 + 0.2, 1e-300, math.inf, -math.inf, 123456789.123456789],
        "params": [float(costs.count_params(space.arch_at(i))) for i in indices],
        "naswot": [np.nan, -1.5, 2.0, 3.25, 1 / 3],
    })
    text = scorefile.scores_csv(frame)
    assert text.splitlines()[0] == "index,arch_str,mgm,params,naswot"
    back = scorefile.read_scores_csv(text, NB201)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    pd.testing.assert_frame_equal(scorefile.read_scores_csv(text.encode(), NB201), frame, check_exact=True)
    assert scorefile.proxy_columns(back) == ["mgm", "params", "naswot"]


@pytest.mark.parametrize("text, message", [
    ("arch_str,mgm\nx,1\n", "no 'index' column"),
    ("index,mgm\n15625,1\n", "not an integer in 0..15624"),
    ("index,mgm\n3,1\n3,2\n", "appears more than once"),
    (f"index,arch_str,mgm\n0,{CELL_6111},1\n", "is not the cell at index 0"),
    ("index,arch_str\n0,\n", "no numeric proxy columns"),
    ("index,mgm\n", "a header but no rows"),
    ("", "not a CSV"),
])
def test_bad_scores_csv_says_what_is_wrong(text, message):
    with pytest.raises(scorefile.ScoreFileError, match=message):
        scorefile.read_scores_csv(text, NB201)
