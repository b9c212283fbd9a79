"""``snnq hw``: hardware presets and reports.

    snnq hw presets                  list the presets (name, backend, paper)
    snnq hw presets --check [--json PATH]
                                     run each preset on its paper's network; modelled against published figures
                                     with each row's role, tolerance, status and assumptions, and a summary that
                                     counts only predicted figures; --json writes the rows and the summary to PATH
                                     (atomically); exit status 1 when any figure is outside its tolerance
    snnq hw presets --fit            recompute the fitted constants and show them beside the stored ones
    snnq hw report RUN_DIR hardware=PRESET [--seed N]
                                     write hardware.json, hardware.md and plots into RUN_DIR and add the totals
                                     to RUN_DIR/results.json (RUN_DIR holds network.ir.npz)
    snnq hw cosim RUN_DIR [--images N] [--simulator auto|verilator|icarus] [--jobs N] [--fitted] [--keep DIR]
                                     simulate the reference RTL core (hardware/) on the first N images of
                                     RUN_DIR/hw_inputs.npz and compare every layer's spikes and the scores with the
                                     integer model; writes RUN_DIR/cosim.json; exit status 1 on any mismatch
    snnq hw pareto RUNS_DIR [--objective METRIC:min|max] [--accuracy network|hardware] [--out DIR]
                                     the accuracy-energy Pareto front of a sweep's runs (pareto.json, pareto.png)
"""

from __future__ import annotations

import argparse

from snnq.cli import hw_pareto
from snnq.errors import ConfigError, did_you_mean


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hw", help="hardware presets, preset checks and hardware reports of a run")
    commands = parser.add_subparsers(dest="hw_command", required=True, metavar="hw_command")
    presets = commands.add_parser("presets", help="list the hardware presets; --check compares them with the papers")
    mode = presets.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="model each paper's network and compare with its published figures")
    mode.add_argument("--fit", action="store_true", help="recompute the fitted constants of each preset")
    presets.add_argument("--json", metavar="PATH", default=None, help="with --check: also write the rows and the summary to PATH as JSON")
    presets.add_argument("names", nargs="*", help="presets to use (default: all)")
    presets.set_defaults(run=run_presets)
    report = commands.add_parser("report", help="evaluate a run directory's network on a preset and write the report")
    report.add_argument("run_dir", help="directory holding network.ir.npz")
    report.add_argument("overrides", nargs="+", metavar="key=value", help="hardware=<preset name or YAML file>")
    report.add_argument("--seed", type=int, default=0, help="seed of the non-ideal simulation")
    report.set_defaults(run=run_report)
    cosim = commands.add_parser("cosim", help="simulate the reference RTL core on a run's images and compare with the integer model")
    cosim.add_argument("run_dir", help="directory holding network.ir.npz and hw_inputs.npz")
    cosim.add_argument("--images", type=int, default=100, help="how many of the run's inputs (default 100)")
    cosim.add_argument("--simulator", default="auto", help="verilator, icarus or auto (Verilator when installed)")
    cosim.add_argument("--jobs", type=int, default=None, help="simulator processes at once (default: the CPU count)")
    cosim.add_argument("--fitted", action="store_true", help="build the smallest core that runs this network (as synthesised) instead of the default")
    cosim.add_argument("--cache", default=None, help="where built simulators are kept (default ~/.cache/snnq/rtl)")
    cosim.add_argument("--keep", default=None, metavar="DIR", help="keep the deployment, configuration, event and output files in DIR")
    cosim.set_defaults(run=run_cosim)
    hw_pareto.add_parser(commands)


def run_presets(args: argparse.Namespace) -> int:
    from snnq.hardware.presets import load_preset, preset_names

    names = args.names or preset_names()
    if args.json is not None and not args.check:
        raise ConfigError("--json goes with --check")
    if args.check:
        from snnq.hardware.check import run_checks
        from snnq.hardware.check_table import format_checks, write_checks_json

        results = run_checks(names)
        print(format_checks(results))
        if args.json is not None:
            command = "snnq hw presets --check" + "".join(f" {n}" for n in args.names)
            print(f"wrote {write_checks_json(results, args.json, command=command)}")
        return 1 if any(r.failed for r in results) else 0
    if args.fit:
        from snnq.hardware.fit import fit_preset
        from snnq.hardware.spec import get_path

        for name in names:
            preset = load_preset(name)
            for param, value in fit_preset(preset).items():
                print(f"{preset.name}: {param} fitted {value:.6g} (stored {get_path(preset.hardware, param)})")
        return 0
    for name in names:
        preset = load_preset(name)
        print(f"{preset.name:<24} {preset.backend:<9} {preset.paper.strip().splitlines()[0][:90]}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from snnq.hardware.report import write_report

    options = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise ConfigError(f"expected key=value, got {item!r}")
        if key != "hardware":
            raise ConfigError(f"unknown key {key!r}{did_you_mean(key, ['hardware'])}; valid keys: hardware")
        options[key] = value
    if "hardware" not in options:
        raise ConfigError("missing hardware=<preset>")
    report = write_report(args.run_dir, options["hardware"], seed=args.seed)
    t = report.totals
    print(f"{report.network} on {report.preset}: latency {t['latency_s'] * 1e3:.4g} ms, energy {t['energy_j'] * 1e6:.4g} uJ, "
          f"power {t['power_w']:.4g} W; wrote hardware.json, hardware.md, plots and results.json to {args.run_dir}")
    return 0


def run_cosim(args: argparse.Namespace) -> int:
    from snnq.export.cosim import run_cosim as cosimulate
    from snnq.export.rtl_core import core_parameters_for
    from snnq.hardware.ir_io import load_ir

    params = core_parameters_for(load_ir(args.run_dir)) if args.fitted else None
    report = cosimulate(args.run_dir, images=args.images, simulator=args.simulator, parameters=params, jobs=args.jobs, cache=args.cache,
                        work_dir=args.keep)
    print(report.summary())
    for layer in report.layers:
        print(f"  {layer.name:<16} {layer.kind:<10} {layer.events:>9} events  {layer.mismatched_values:>6} mismatches  {layer.cycles:>10} cycles")
    return 0 if report.mismatches == 0 else 1
