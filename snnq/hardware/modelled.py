"""A preset check's figure as the model gives it: the paper's network built once, evaluated on the preset's chip.

`modelled_value` is what both the checks (`snnq.hardware.check`) and the fits (`snnq.hardware.fit`) compare with
the published figure; `NetworkCache` shares the paper networks between the checks, fits and re-fits of a run.
"""

from __future__ import annotations

from typing import Any

from snnq.hardware.figures import FIGURES
from snnq.hardware.ir import Network
from snnq.hardware.networks import paper_network
from snnq.hardware.presets import Check, NetworkRef, Preset
from snnq.hardware.result import HardwareReport
from snnq.hardware.spec import with_overrides


class NetworkCache:
    """Paper networks built once per (name, options)."""

    def __init__(self) -> None:
        self._networks: dict[Any, Network] = {}

    def get(self, ref: NetworkRef) -> Network:
        key = ref.key()
        if key not in self._networks:
            self._networks[key] = paper_network(ref.name, **dict(ref.options))
        return self._networks[key]


def evaluate_on(preset: Preset, ref: NetworkRef, overrides: dict[str, Any], networks: NetworkCache, hardware: Any = None) -> HardwareReport:
    """``preset`` (or its ``hardware`` replacement) with ``overrides`` evaluated on the paper network ``ref``."""
    spec = hardware if hardware is not None else preset.hardware
    if overrides:
        spec = with_overrides(spec, overrides)
    return preset.backend_instance(spec).evaluate(networks.get(ref))


def modelled_value(preset: Preset, check: Check, networks: NetworkCache, *, hardware: Any = None) -> float:
    """The figure ``check`` asks for, as the model gives it (on ``hardware`` instead of the preset's spec if given)."""
    report = evaluate_on(preset, check.network, dict(check.overrides), networks, hardware)
    baseline = None
    if check.baseline is not None:
        baseline = evaluate_on(preset, check.baseline, dict(check.baseline_overrides), networks, hardware)
    return FIGURES[check.figure].value(report, baseline)
