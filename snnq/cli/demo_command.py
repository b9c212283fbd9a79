"""``snnq demo``: the offline demo on scikit-learn's digits."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="train a small quantized SNN on scikit-learn's digits (offline)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weight-bits", type=int, default=4)
    parser.add_argument("--membrane-bits", type=int, default=8)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from snnq.demo import run_demo

    result = run_demo(epochs=args.epochs, seed=args.seed, weight_bits=args.weight_bits, membrane_bits=args.membrane_bits)
    print(
        f"digits test set ({result.test_samples} images): float SNN {100 * result.float_accuracy:.2f} %, "
        f"{result.weight_bits}-bit weights + {result.membrane_bits}-bit membrane {100 * result.quantized_accuracy:.2f} % "
        f"({result.seconds:.1f} s)"
    )
    return 0
