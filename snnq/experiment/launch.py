"""How a `snnq train` job starts the other processes of a multi-process fit, and cleans up after a bad start.

Lightning's ``ddp`` strategy starts the processes of global rank > 0 by running the *same command* again
(with ``LOCAL_RANK`` set); under Hydra it runs ``python <sys.argv[0]> <sys.argv[1:]> hydra.run.dir=<run.dir>
hydra.job.name=train_ddp_process_<k> hydra.output_subdir=null`` (``python -m <module>`` when the program was
started with ``-m``). `prepare_relaunch` makes that command the job's own: ``snnq train`` (or ``python -m
snnq train``) with this job's overrides (not a sweep's ``-m`` and value lists), the job's output directory
(in a sweep, the job's sub-directory) and `RANK_JOB_LOGGING` (console only: ranks > 0 write no file).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from snnq.errors import ConfigError

RELAUNCHING_STRATEGIES = ("ddp", "ddp_find_unused_parameters_true")
"""Lightning strategies that start the other processes by running the command again."""

RANK_JOB_LOGGING = "hydra/job_logging=snnq_rank"
"""The job logging of ranks > 0 (``conf/hydra/job_logging/snnq_rank.yaml``)."""

HYDRA_FILES = (".hydra",)
"""What Hydra writes into a run directory before the job starts (and the job's log, ``*.log``)."""


def snnq_entry(argv0: str) -> bool:
    """Whether this process was started as ``snnq`` (the console script) or ``python -m snnq``: the commands
    Lightning can run again for the other ranks."""
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is not None:
        return spec.name in ("snnq.__main__", "snnq")
    return Path(argv0).name == "snnq"


def prepare_relaunch(argv0: str, trainer: dict[str, Any]) -> None:
    """Sets ``sys.argv`` and Hydra's ``run.dir`` so that Lightning's ``ddp`` re-runs exactly this job for the
    other ranks (see the module); raises `ConfigError` where the command cannot be run again (snnq called from
    Python: use ``trainer.strategy=ddp_spawn`` there)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import read_write

    from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

    if trainer.get("strategy") not in RELAUNCHING_STRATEGIES or "LOCAL_RANK" in os.environ:
        return  # nothing to start (or this process is itself a started rank)
    if SLURMEnvironment.detect() or TorchElasticEnvironment.detect():
        return  # SLURM (srun, submitit) or torchrun started every process already
    if not snnq_entry(argv0):
        raise ConfigError(
            f"trainer.strategy={trainer.get('strategy')} runs the command again for every process, which only works from "
            "`snnq train` or `python -m snnq train`; from Python use trainer.strategy=ddp_spawn"
        )
    hydra_cfg = HydraConfig.get()
    output_dir = hydra_cfg.runtime.output_dir
    with read_write(hydra_cfg.run):
        hydra_cfg.run.dir = output_dir  # Lightning passes it on as hydra.run.dir: in a sweep, the job's sub-directory
    sys.argv = [argv0, "train", *hydra_cfg.overrides.task, RANK_JOB_LOGGING]


def discard_unstarted(run_dir: str | Path, runs_dir: str | Path) -> bool:
    """Removes ``run_dir`` when it holds nothing but what Hydra wrote before the job started (``.hydra/`` and the
    job's log), so that a run that failed before training leaves no directory that looks like a result; then
    removes the parents it leaves empty below ``runs_dir`` (kept). Returns whether it removed ``run_dir``; a
    directory with anything else in it (a checkpoint to resume from, results) is kept."""
    folder, top = Path(run_dir).resolve(), Path(runs_dir).resolve()
    if not folder.is_dir() or top not in folder.parents:
        return False
    entries = list(folder.iterdir())
    if any(entry.name not in HYDRA_FILES and not (entry.is_file() and entry.suffix == ".log") for entry in entries):
        return False
    shutil.rmtree(folder)
    for parent in folder.parents:
        if parent == top:
            break
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
    return True


def record_failed_job(run_dir: str | Path, error: BaseException) -> Path | None:
    """Records this sweep job's failure (its folder relative to the sweep directory, its overrides and the error
    on one line) in ``<sweep_dir>/failed_jobs.jsonl`` (`snnq.experiment.failed_jobs`); returns the file, or None
    when it could not be written (a warning says why; the job's own error is what the sweep reports)."""
    import warnings

    from hydra.core.hydra_config import HydraConfig

    from snnq.errors import SnnqError
    from snnq.experiment import failed_jobs

    hydra_cfg = HydraConfig.get()
    sweep_dir, folder = Path(hydra_cfg.sweep.dir).resolve(), Path(run_dir).resolve()
    job = str(folder.relative_to(sweep_dir)) if sweep_dir in folder.parents else folder.name
    message = one_line(error) if isinstance(error, SnnqError) else f"{type(error).__name__}: {one_line(error)}"
    try:
        return failed_jobs.record(sweep_dir, job, list(hydra_cfg.overrides.task), message)
    except OSError as problem:
        warnings.warn(f"could not record the failed job {job} in {sweep_dir / failed_jobs.FILENAME}: {problem}", stacklevel=2)
        return None


def one_line(error: BaseException) -> str:
    """An exception's message on one line (Hydra's composition errors span several), without Hydra's list of
    the folders it searched."""
    return " ".join(str(error).split("Config search path")[0].split())
