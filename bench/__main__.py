"""``python -m bench [name ...]``: runs the named benchmarks (all by default); each writes its measurements to
``bench/results/<name>/<date>-<tag>.json`` (`bench.record`) and prints them as markdown.

``python -m bench render [--check]``: renders ``bench/RESULTS.md`` and ``recipes/RESULTS.md`` from the results
files (`bench.render`); ``--check`` only says whether the committed documents are up to date.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bench import render

BENCHMARKS = ("quant_overhead", "neuron_speed", "conversion", "qat_step", "cifar10_anchor", "s1_activity", "s1_chip_assumptions")
COMMANDS = {"render": render.main}
"""Sub-commands that are not benchmarks: name -> main(argv) returning the exit status."""


def run_benchmarks(argv: list[str]) -> int:
    """Runs each named benchmark, writes its run file and prints the run as `bench.render` renders it."""
    parser = argparse.ArgumentParser(prog="python -m bench", epilog=f"also: python -m bench {' | '.join(COMMANDS)}")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; expected any of {', '.join(BENCHMARKS)}")
    for name in args.names or BENCHMARKS:
        record = importlib.import_module(f"bench.{name}").run()
        path = record.write()
        print(render.render_run(record.data, str(path)))
        print(f"\nwrote {path} (python -m bench render puts it into bench/RESULTS.md)\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = COMMANDS.get(argv[0]) if argv else None
    return command(argv[1:]) if command else run_benchmarks(argv)


if __name__ == "__main__":
    sys.exit(main())
