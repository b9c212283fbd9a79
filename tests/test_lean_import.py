"""``import snnq`` must not drag in the training and framework stacks."""

import json
import subprocess
import sys

HEAVY = ("lightning", "pytorch_lightning", "hydra", "omegaconf", "tonic", "snntorch", "spikingjelly", "torchmetrics")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return {name.split(".")[0] for name in json.loads(out)}


def test_import_snnq_imports_no_framework():
    loaded = _modules_after("import snnq")
    assert not loaded & set(HEAVY), f"import snnq loaded {sorted(loaded & set(HEAVY))}"


def test_building_a_quantizer_imports_no_framework():
    loaded = _modules_after("import snnq, torch; snnq.quantizer('ternary')(torch.ones(3)); snnq.QUANTIZERS.names()")
    assert not loaded & set(HEAVY), f"quantizers loaded {sorted(loaded & set(HEAVY))}"
