"""``snnq hw pareto RUNS_DIR``: the accuracy-energy Pareto front of a sweep's runs (`snnq.hardware.pareto`).

    snnq train -m recipe=demo hardware=zou2021_chip quant.weight.bits=2,4 hardware.hardware.tile.rows=256,1024
    snnq hw pareto runs/demo/sweep                       writes runs/demo/sweep/pareto.json and pareto.png
    snnq hw pareto runs/demo/sweep --objective latency_s:min --accuracy hardware --out reports/

``hw_command.add_parser`` calls `add_parser` with the ``snnq hw`` sub-command parsers.
"""

from __future__ import annotations

import argparse

from snnq.errors import ConfigError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``pareto`` under ``snnq hw``."""
    parser = subparsers.add_parser("pareto", help="accuracy-energy Pareto front of the runs of a sweep (pareto.json, pareto.png)")
    parser.add_argument("runs_dir", help="folder searched for results.json files (e.g. runs/<recipe>/sweep)")
    parser.add_argument("--out", default=None, help="where pareto.json and pareto.png go (default: RUNS_DIR)")
    parser.add_argument("--objective", action="append", default=None, metavar="METRIC:min|max",
                        help="objective (repeatable; default accuracy:max and energy_j:min); metrics: accuracy, energy_j, latency_s, area_mm2, power_w")
    parser.add_argument("--accuracy", default="network", choices=["network", "hardware"],
                        help="network: the converted network's test accuracy; hardware: the non-ideal simulation's accuracy")
    parser.set_defaults(run=run_pareto)


def parse_objectives(items: list[str] | None) -> dict[str, str] | None:
    """``["accuracy:max", "energy_j:min"]`` -> ``{"accuracy": "max", "energy_j": "min"}`` (None: the default)."""
    if not items:
        return None
    objectives = {}
    for item in items:
        metric, sep, direction = item.partition(":")
        if not sep or direction not in ("min", "max") or not metric:
            raise ConfigError(f"--objective expects METRIC:min or METRIC:max, got {item!r}")
        objectives[metric] = direction
    return objectives


def run_pareto(args: argparse.Namespace) -> int:
    from snnq.hardware.pareto import write_pareto

    result = write_pareto(args.runs_dir, out_dir=args.out, objectives=parse_objectives(args.objective), accuracy=args.accuracy)
    names = list(result.objectives)
    print(f"{len(result.points)} runs, {len(result.front)} on the Pareto front ({', '.join(f'{k} {v}' for k, v in result.objectives.items())}):")
    for point in result.front_points:
        values = ", ".join(f"{k} {point.metric(k):.4g}" for k in names)
        print(f"  {point.run}: {values}")
    for item in result.skipped:
        print(f"  skipped {item['run']}: {item['reason']}")
    print("wrote " + ", ".join(str(path) for path in result.files))
    return 0
