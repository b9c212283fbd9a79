"""What ``snnq train`` prints: each message once, no advertisements, no warning a user cannot act on.

Lightning adds console handlers of its own (``lightning``, ``lightning.pytorch``) that printed every INFO line a
second time beside Hydra's job logging; snnq's job logging config (``conf/hydra/job_logging/snnq.yaml``)
removes them and routes everything through one handler with `DropAdverts`. `quiet_dependency_warnings`
filters the warnings raised *inside* snnq's dependencies about their own internals.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator

ADVERTS = (
    re.compile(r"Tip: For seamless cloud"),  # Lightning's litlogger / litmodels advertisements, printed on every fit
)
"""Log messages dropped from the console and the job log."""

DEPENDENCY_WARNINGS = (
    # Lightning calling a torch API torch deprecated (lightning/pytorch/utilities/_pytree.py): nothing to do for a user
    (r".*isinstance\(treespec, LeafSpec\)` is deprecated.*", r"lightning\..*"),
    # torch.distributed's notice when a gloo/nccl group outlives the process that Lightning started it in
    (r".*destroy_process_group\(\) was not called.*", r"torch\..*"),
)
"""``(message regex, module regex)`` of warnings a user of snnq cannot act on."""


class DropAdverts(logging.Filter):
    """A logging filter that drops the messages matching `ADVERTS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(pattern.search(message) for pattern in ADVERTS)


FIT_WARNINGS = (
    r".*does not have many workers.*",  # num_workers is the user's choice
    # a multi-process test splits the test set over the processes (an uneven split repeats < N samples); the exact
    # figures come from rank 0's verification on the whole test set
    r".*`DistributedSampler` with the dataloaders. During `trainer.test\(\)`.*",
)
"""Messages of Lightning's fit and test that say nothing a snnq run can act on."""


def quiet_dependency_warnings() -> None:
    """Ignores `DEPENDENCY_WARNINGS` and `FIT_WARNINGS` in this process (each process of a multi-process run calls
    it: `snnq.lit.callbacks.QuietProcess` does in the processes ``ddp_spawn`` starts)."""
    for message, module in DEPENDENCY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)
    for message in FIT_WARNINGS:
        warnings.filterwarnings("ignore", message=message)


LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
"""The loggers to which Lightning attaches console handlers of its own when it is imported."""


def route_lightning_logs() -> None:
    """Imports Lightning and takes its own console handlers away, so that its messages reach the user once,
    through the job logging's handlers (with `DropAdverts`). Needed in every process that runs a job: a sweep
    launcher's worker imports Lightning after Hydra configured its logging."""
    import lightning.pytorch  # noqa: F401  (adds the handlers this removes)

    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def prepare_process() -> None:
    """What every process running a `snnq train` job calls first: `quiet_dependency_warnings` and
    `route_lightning_logs`."""
    quiet_dependency_warnings()
    route_lightning_logs()


@contextlib.contextmanager
def preserved_logging() -> Iterator[None]:
    """Restores the root logger and Lightning's and Hydra's loggers as they were (handlers, level, propagation)
    and closes the handlers added meanwhile: Hydra's job logging configures this process's logging for a job,
    and `snnq.experiment.app.train` may be called again in the same process."""
    names = ["", *LIGHTNING_LOGGERS, "hydra"]
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).level, logging.getLogger(name).propagate) for name in names}
    try:
        yield
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                if handler not in handlers:
                    logger.removeHandler(handler)
                    handler.close()
            for handler in handlers:
                if handler not in logger.handlers:
                    logger.addHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
