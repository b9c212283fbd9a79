"""``snnq list <kind>``: one registered name per line."""

from __future__ import annotations

import argparse

from snnq.registry import REGISTRIES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list registered plugins of one kind, one name per line")
    parser.add_argument("kind", choices=sorted([*REGISTRIES, "recipes"]), help="which registry (or the recipes) to list")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.kind == "recipes":
        from snnq.experiment.paths import recipe_names

        names = recipe_names()
    else:
        names = REGISTRIES[args.kind].names()
    for name in names:
        print(name)
    return 0
