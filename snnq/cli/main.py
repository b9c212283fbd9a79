"""``snnq <command>``: each command is a module of this package with ``add_parser(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from snnq.errors import SnnqError

COMMANDS = ("list", "train", "leaderboard", "hw", "export")
"""Modules ``snnq.cli.<name>_command``; each registers its sub-command and the function that runs it."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snnq", description="Quantized spiking neural networks: train, convert, verify, deploy.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name in COMMANDS:
        importlib.import_module(f"snnq.cli.{name}_command").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except SnnqError as error:  # expected, explained failures: one line, no traceback
        message = " ".join(str(error).split())  # one line, whatever the message's layout
        print(f"snnq {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
