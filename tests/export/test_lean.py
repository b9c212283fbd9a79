"""The export package loads no training or framework stack (and NIR only where NIR files are handled)."""

import json
import subprocess
import sys

HEAVY = {"lightning", "pytorch_lightning", "hydra", "omegaconf", "tonic", "snntorch", "spikingjelly", "torchmetrics", "nir", "nirtorch"}


def test_export_modules_import_no_framework():
    code = ("import sys, json; import snnq.export, snnq.export.deploy, snnq.export.cosim, snnq.export.synthesis, "
            "snnq.export.nir_export, snnq.cli.main; snnq.cli.main.build_parser(); print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = {name.split(".")[0] for name in json.loads(out)}
    assert not loaded & HEAVY, sorted(loaded & HEAVY)


def test_the_deployment_runner_imports_numpy_only():
    from snnq.export import deploy_runner

    source = open(deploy_runner.__file__).read()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "argparse", "hashlib", "json", "sys", "pathlib", "numpy"}, imports
