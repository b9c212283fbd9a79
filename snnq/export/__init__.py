"""Deployment and interoperability: integer deployment packages, NIR files, and the reference RTL core.

- `write_deployment` / `export_deploy` (``snnq export deploy``): integer weights and thresholds (``.npz`` and
  ``.mem``), a manifest with checksums and a numpy-only runner; `verify_deployment`, `load_deployment`.
- `export_nir` / `import_nir` (``snnq export nir``): NIR graphs that keep quantization (`snnq.export.nir_export`
  for integer IR networks, `snnq.export.nir_module` for directly trained sequential SNNs; `snnq.export.nir_import`).
- `run_cosim` (``snnq hw cosim``): the Verilog core of ``hardware/`` simulated against the integer model.
- `synthesize` (`snnq.export.synthesis`): Yosys resource counts of the core for the xc7 family.

Importing this package loads its error types only; NIR, the hardware IR and the simulators are loaded by the
functions that use them.
"""

from __future__ import annotations

import importlib
from typing import Any

from snnq.export.errors import CosimError, DeploymentError, ExportError, NIRUnsupportedError, SynthesisError

_LAZY = {
    "write_deployment": "snnq.export.deploy",
    "export_deploy": "snnq.export.deploy",
    "verify_deployment": "snnq.export.deploy",
    "load_deployment": "snnq.export.deploy",
    "copy_deployment": "snnq.export.deploy",
    "run_cosim": "snnq.export.cosim",
    "CosimReport": "snnq.export.cosim",
    "CoreParameters": "snnq.export.rtl_core",
    "core_parameters_for": "snnq.export.rtl_core",
    "export_nir": "snnq.export.nir_export",
    "nir_graph": "snnq.export.nir_export",
    "import_nir": "snnq.export.nir_import",
    "module_graph": "snnq.export.nir_module",
    "synthesize": "snnq.export.synthesis",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'snnq.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["CosimError", "DeploymentError", "ExportError", "NIRUnsupportedError", "SynthesisError", *_LAZY]
