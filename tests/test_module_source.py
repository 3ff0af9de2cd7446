"""knas.spaces.nb201.module_source: a cell as a stand-alone PyTorch file, checked against knas.spaces.nb201.nets."""
import json
import subprocess
import sys

import pytest

from knas.spaces.nb201 import costs, module_source, cells as space
from tests.conftest import CELL_6111, REPO, VENV_PYTHON

_CHECK = r"""
import importlib.util, json, sys
import torch
from knas.spaces.nb201 import costs, nets
out = []
for path, arch, num_classes in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location("generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.build()
    ref = nets.build(arch, num_classes=num_classes)
    net.load_state_dict(ref.state_dict())  # strict: same names and shapes
    net.eval(); ref.eval()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y, y_ref = net(x), ref(x)
    out.append({"arch_str": module.ARCH_STR,
                "params": sum(p.numel() for p in net.parameters()),
                "count": costs.count_params(arch, num_classes=num_classes),
                "keys_equal": list(net.state_dict()) == list(ref.state_dict()),
                "shape": list(y.shape), "max_diff": float((y - y_ref).abs().max())})
print(json.dumps(out))
"""


def test_generated_module_builds_the_same_network_as_knas_nets(tmp_path):
    cases = [(CELL_6111, 10),
             ("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|", 10),
             ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 100)]
    jobs_ = []
    for n, (arch, num_classes) in enumerate(cases):
        source = module_source.arch_module_source(arch, num_classes=num_classes)
        assert "knas" not in source.split('"""', 2)[2]  # stand-alone: the code imports only torch
        assert f"ARCH_STR = {arch!r}" in source
        path = tmp_path / f"cell_{n}.py"
        path.write_text(source)
        jobs_.append([str(path), arch, num_classes])
    python = str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable)
    out = subprocess.run([python, "-c", _CHECK, json.dumps(jobs_)], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    for (arch, num_classes), result in zip(cases, json.loads(out.stdout)):
        assert result["arch_str"] == arch
        assert result["params"] == result["count"] == costs.count_params(arch, num_classes=num_classes)
        assert result["keys_equal"]
        assert result["shape"] == [2, num_classes]
        assert result["max_diff"] < 1e-5


def test_module_source_names_the_cell_and_rejects_bad_input():
    source = module_source.arch_module_source(6111)
    assert CELL_6111 in source and "Benchmark index: 6111" in source and "def build(" in source
    assert module_source.module_file_name(CELL_6111) == "nb201_cell_6111.py"
    compile(source, "generated.py", "exec")
    with pytest.raises(space.ArchError):
        module_source.arch_module_source("|nor_conv_3x3~0|+|bogus~0|")
    with pytest.raises(module_source.ModuleSourceError):
        module_source.arch_module_source(6111, num_classes=0)
