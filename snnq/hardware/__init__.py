"""Hardware backends: an integer IR of the network in, latency, energy, area and accuracy on modelled hardware out.

Importing this package registers the built-in backends in `snnq.registry.BACKENDS`: ``crossbar`` (analog or
digital crossbar tiles, S0/S1), ``fpga`` (event-driven accelerator on an FPGA board, S3) and ``digital``
(event-driven ASIC processor, S2). The backends use numpy only and import no training code.

    >>> from snnq.hardware import load_preset, paper_network
    >>> preset = load_preset("zou2021_chip")
    >>> report = preset.backend_instance().evaluate(paper_network("lenet5_mnist", coding="scatter_gather",
    ...     schedule="layerwise", time_steps=1, levels=4, input_levels=4, spike_rate=0.07))
    >>> sorted(report.totals)[:3]
    ['area_mm2', 'chip_utilisation', 'cycles']
"""

from snnq.hardware.builder import NetworkBuilder
from snnq.hardware.check import CheckResult, run_checks
from snnq.hardware.check_table import format_checks, write_checks_json
from snnq.hardware.crossbar import CrossbarBackend, CrossbarSpec, NonIdealSpec, TileMapping, map_network
from snnq.hardware.digital import DigitalBackend, DigitalSpec
from snnq.hardware.errors import IRError, MappingError, ResourceError
from snnq.hardware.fit import fit_preset
from snnq.hardware.fpga import FpgaBackend, FpgaSpec
from snnq.hardware.ir import (
    CODINGS, INPUT, NEURON_KINDS, SYNAPSES, Activity, Add, AvgPool2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, Network,
    Neuron, WeightedLayer,
)
from snnq.hardware.ir_io import IR_FILENAME, load_ir, save_ir
from snnq.hardware.networks import PAPER_NETWORKS, lenet5, paper_network, resnet18, vgg
from snnq.hardware.pareto import DesignPoint, write_pareto
from snnq.hardware.presets import Preset, load_preset, preset_names
from snnq.hardware.report import write_report
from snnq.hardware.result import HardwareReport, LayerCost
from snnq.hardware.simulate import SimulationResult, calibrate, rate_encode, simulate
from snnq.hardware.sweep import SweepResult, pareto_front, plot_pareto, sweep

__all__ = [
    "Activity", "Add", "AvgPool2d", "CODINGS", "CheckResult", "Conv2d", "CrossbarBackend", "CrossbarSpec", "Dense", "DesignPoint",
    "DigitalBackend", "DigitalSpec", "Flatten", "FpgaBackend", "FpgaSpec", "HardwareReport", "INPUT", "IRError",
    "IR_FILENAME", "Layer", "LayerCost", "MappingError", "MaxPool2d", "NEURON_KINDS", "Network", "NetworkBuilder",
    "Neuron", "NonIdealSpec", "PAPER_NETWORKS", "Preset", "ResourceError", "SYNAPSES", "SimulationResult",
    "SweepResult", "TileMapping", "WeightedLayer", "calibrate", "fit_preset", "format_checks", "lenet5", "load_ir",
    "load_preset", "map_network", "paper_network", "pareto_front", "plot_pareto", "preset_names", "rate_encode",
    "resnet18", "run_checks", "save_ir", "simulate", "sweep", "vgg", "write_checks_json", "write_pareto", "write_report",
]
