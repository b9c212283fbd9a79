"""`snnq train`: Hydra's own entry point (so ``-m`` sweeps, output folders and overrides behave as in any Hydra app)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from snnq.experiment.paths import check_recipe, config_root
from snnq.experiment.verdicts import failures, figure_verdicts, run_verdict


def train(overrides: Sequence[str]) -> int:
    """Runs ``snnq train [overrides]`` (``recipe=<paper>/<setting>``, ``key=value``, ``-m`` for a sweep).

    Returns 1 when a run's conversion or hardware step failed (its ``results.json`` says ``status: failed``),
    unless ``continue_on_error=true``; else 0. A bad value or override raises `SnnqError` (``snnq train: error:
    ...``, exit status 2; ``--debug`` or ``HYDRA_FULL_ERROR=1`` print the traceback too) and removes the run
    directory Hydra had made for it (`snnq.experiment.launch.discard_unstarted`). A sweep's job that raises is
    recorded in ``<sweep_dir>/failed_jobs.jsonl`` (`snnq.experiment.launch.record_failed_job`), which ``snnq
    leaderboard`` lists. With ``trainer.strategy=ddp`` Lightning runs this command again for every other process
    (`snnq.experiment.launch.prepare_relaunch`)."""
    import hydra
    import lightning.pytorch  # noqa: F401  (before Hydra's job logging, which then removes Lightning's own console handlers)
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException
    from hydra.types import RunMode

    from snnq.errors import ConfigError, SnnqError
    from snnq.experiment import console, launch

    debug = "--debug" in overrides or os.environ.get("HYDRA_FULL_ERROR") == "1"  # the traceback of an error as well
    overrides = [item for item in overrides if item != "--debug"]
    root = config_root()
    for item in overrides:
        if item.startswith("recipe="):
            for name in item.split("=", 1)[1].split(","):  # a sweep may list several
                check_recipe(name, root)

    errors: list[SnnqError] = []
    failed: list[str] = []  # the runs (a sweep has several) whose conversion or hardware step failed

    def task(cfg: Any) -> None:
        from snnq.experiment.pipeline import run

        console.prepare_process()  # also in a sweep launcher's worker process
        run_dir = HydraConfig.get().runtime.output_dir
        try:
            launch.prepare_relaunch(argv[0], dict(cfg.get("trainer") or {}))
            results = run(cfg, run_dir)
        except SnnqError as error:
            launch.discard_unstarted(run_dir, cfg.get("runs_dir", "runs"))  # no directory that looks like a result
            if HydraConfig.get().mode != RunMode.RUN:
                launch.record_failed_job(run_dir, error)  # for `snnq leaderboard <sweep_dir>`
                raise  # a sweep's job: Hydra's sweeper reports it after the other jobs
            errors.append(error)  # one run: reported below as one line, without Hydra's own report
            return
        except Exception as error:  # not snnq's own error (a bug, out of memory): Hydra reports it with its traceback
            if HydraConfig.get().mode != RunMode.RUN:
                launch.record_failed_job(run_dir, error)
            raise
        if results is None:  # a process of rank > 0 of a multi-process fit: rank 0 reports
            return
        print(summary_line(results))
        if results["status"] == "failed" and not cfg.get("continue_on_error", False):
            failed.append(run_dir)

    argv, full_error = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = ["snnq train", *overrides]
    GlobalHydra.instance().clear()  # a Hydra app left initialised earlier in this process (train called again)
    os.environ["HYDRA_FULL_ERROR"] = "1"  # errors reach snnq (one line, exit status 2), not Hydra's report
    try:
        with console.preserved_logging():
            hydra.main(version_base="1.3", config_path=str(root / "conf"), config_name="config")(task)()
        if errors:
            raise errors[0]
    except (SnnqError, HydraException) as error:
        if debug:
            traceback.print_exc()
        if isinstance(error, SnnqError):
            raise
        raise ConfigError(launch.one_line(error)) from error  # a bad override, an unknown config group option
    finally:
        sys.argv = argv
        GlobalHydra.instance().clear()
        if full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = full_error
    if failed:
        print(f"snnq train: error: {len(failed)} run(s) failed; their results.json say why: {', '.join(map(str, failed))} "
              "(continue_on_error=true exits 0 all the same)", file=sys.stderr)
        return 1
    return 0


def summary_line(results: dict[str, Any]) -> str:
    """The run in one line: accuracies, each expected figure in readable units with its verdict, the steps that
    failed, and the run's verdict."""
    metrics = results.get("metrics", {})
    parts = [f"recipe {results.get('recipe')}"]
    for key in ("float_accuracy", "quantized_accuracy", "snn_accuracy"):
        if metrics.get(key) is not None:
            parts.append(f"{key.replace('_', ' ')} {100 * metrics[key]:.2f} %")
    if metrics.get("logit_mismatches") is not None:
        parts.append(f"mismatching logits {metrics['logit_mismatches']}")
    parts.extend(f"paper: {figure['text']}" for figure in figure_verdicts(results))
    parts.extend(f"failed: {failure['step']}: {failure['reason']}" for failure in failures(results))
    parts.append(f"verdict {run_verdict(results)} (a run passes only when every expected figure passes)")
    return "; ".join(parts)
