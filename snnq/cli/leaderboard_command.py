"""``snnq leaderboard [runs_dir]``: LEADERBOARD.md, leaderboard.json and plots from every run's results.json
(on a sweep's directory: every job, the accuracy-energy Pareto front, the failed jobs with their reasons)."""

from __future__ import annotations

import argparse
from pathlib import Path

from snnq.errors import ConfigError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("leaderboard", help="gather every results.json below runs_dir into a leaderboard")
    parser.add_argument("runs_dir", nargs="?", default="runs", help="folder holding the runs, or a sweep's directory (default: runs)")
    parser.add_argument("--recipe", help="print only this recipe's rows (the files still hold every run)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from snnq.experiment.leaderboard import markdown, write_leaderboard

    folder = Path(args.runs_dir)
    if not folder.is_dir():
        raise ConfigError(f"no runs folder at {folder} (run `snnq train ...` first, or name the folder)")
    rows, files = write_leaderboard(folder)
    shown = [row for row in rows if args.recipe in (None, row["recipe"])]
    if args.recipe and not shown:
        raise ConfigError(f"no run of recipe {args.recipe!r} below {folder}")
    print(markdown(shown), end="")
    print(f"wrote {', '.join(str(f) for f in files)}")
    return 0
