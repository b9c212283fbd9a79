"""``snnq train recipe=<paper>/<setting> [key=value ...] [-m]``: a Hydra run of the training pipeline."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train, convert, verify and measure a recipe (Hydra overrides; -m for a sweep)",
        description="Runs a Hydra job of the snnq pipeline, e.g. `snnq train recipe=zou2021/mnist_lenet trainer.max_epochs=2`. "
        "Without recipe=..., the `demo` recipe runs. `snnq list recipes` lists the recipes.",
    )
    parser.add_argument("-m", "--multirun", action="store_true", help="a sweep: one job per combination of comma-separated values "
                        "(hydra/launcher=joblib runs them in parallel processes)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (as HYDRA_FULL_ERROR=1 does)")
    parser.add_argument("overrides", nargs=argparse.REMAINDER, help="Hydra overrides (key=value), --cfg job, ...")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from snnq.experiment.app import train

    flags = (["-m"] if args.multirun else []) + (["--debug"] if args.debug else [])
    return train([*flags, *args.overrides])
