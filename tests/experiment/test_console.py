"""What ``snnq train`` prints: a bad value ends with snnq's one-line error (exit status 2) and leaves no run
directory; ``--debug`` adds the traceback; Lightning's advertisements are dropped."""

from __future__ import annotations

import logging
import pytest

from snnq.cli.main import main
from snnq.experiment.console import DropAdverts
from snnq.experiment.launch import discard_unstarted

DEMO_FAST = ["recipe=demo", "trainer=fast", "robustness=null"]

BAD_INPUT = {
    "bits": (["quant.weight.bits=0"], "quant: dynamic_fixed_point: bits=0 is invalid"),
    "missing data": (["recipe=zou2021/mnist_lenet", "data.data_dir={tmp}/nowhere"], "MNIST data not found"),
    "devices": (["trainer.devices=4096"], "trainer.devices=4096 asks for 4096 CPU cores"),
    "launcher": (["hydra/launcher=nope"], "Could not find 'hydra/launcher/nope'"),
    "sharding strategy": (["trainer.strategy=fsdp"], "trainer.strategy='fsdp' is not supported"),
    "sync_batchnorm on cpu": (["trainer.sync_batchnorm=true"], "trainer.sync_batchnorm=true needs trainer.accelerator=gpu"),
    "unknown key": (["trainer.strategie=ddp"], "trainer.strategie"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_a_bad_value_ends_with_one_line_and_leaves_no_run_directory(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    overrides, message = BAD_INPUT[case]
    runs = tmp_path / "runs"
    args = [*DEMO_FAST, f"runs_dir={runs}", *(item.format(tmp=tmp_path) for item in overrides)]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("snnq train: error: ") and message in lines[-1], err
    assert "Traceback" not in err
    assert not runs.exists() or list(runs.rglob("*")) == [], f"left behind: {list(runs.rglob('*'))}"


def test_debug_shows_the_traceback_before_the_line(tmp_path, capsys):
    args = [*DEMO_FAST, f"runs_dir={tmp_path / 'runs'}", "quant.weight.bits=0", "--debug"]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("snnq train: error: quant: ")


def test_a_run_directory_with_anything_but_hydras_files_is_kept(tmp_path):
    runs = tmp_path / "runs"
    unstarted, resumable = runs / "demo" / "a", runs / "demo" / "b"
    for folder in (unstarted, resumable):
        (folder / ".hydra").mkdir(parents=True)
        (folder / "app.log").write_text("")
    (resumable / "checkpoints").mkdir()
    assert discard_unstarted(unstarted, runs) and not unstarted.exists()
    assert not discard_unstarted(resumable, runs) and resumable.is_dir()
    assert runs.is_dir() and (runs / "demo").is_dir()  # still holds b
    assert not discard_unstarted(tmp_path / "elsewhere", runs)  # outside runs_dir: never touched


def test_lightning_advertisements_are_dropped_and_other_lines_kept():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("lightning.pytorch.utilities.rank_zero", logging.INFO, __file__, 1, message, None, None)

    drop = DropAdverts()
    assert not drop.filter(record("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]"))
    assert not drop.filter(record("💡 Tip: For seamless cloud uploads and versioning, try installing [litmodels]"))
    assert drop.filter(record("GPU available: False, used: False"))

