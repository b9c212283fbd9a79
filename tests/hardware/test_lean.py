"""The backends run on numpy alone: no torch, no training code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import snnq.hardware


def test_importing_the_hardware_package_imports_no_torch_or_training_code():
    code = "import sys, json, snnq.hardware; snnq.hardware.paper_network('lenet5_mnist'); print(json.dumps(sorted(sys.modules)))"
    loaded = {m.split(".")[0] for m in json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)}
    assert not loaded & {"torch", "lightning", "hydra", "omegaconf", "snntorch", "spikingjelly", "matplotlib"}


def test_no_hardware_module_imports_torch():
    root = Path(snnq.hardware.__file__).parent
    offenders = [p.name for p in root.rglob("*.py") if "import torch" in p.read_text() or "from torch" in p.read_text()]
    assert offenders == []


def test_the_hardware_readme_example_runs(capsys):
    import re

    text = (Path(snnq.hardware.__file__).parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "snnq/hardware/README.md", "exec"), {})
    assert "'ideal': 1.0" in capsys.readouterr().out
