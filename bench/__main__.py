"""``python -m bench [name ...]``: runs the named benchmarks (all by default) and prints markdown for RESULTS.md."""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = ("quant_overhead", "neuron_speed", "conversion", "qat_step", "cifar10_anchor", "vgg_activity")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args()
    for name in args.names or BENCHMARKS:
        print(importlib.import_module(f"bench.{name}").run())
        print()


if __name__ == "__main__":
    main()
