"""The ``snnq`` command line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import snnq
from snnq.cli.main import main


@pytest.mark.parametrize("kind", sorted(snnq.REGISTRIES))
def test_list_prints_one_registered_name_per_line(kind, capsys):
    assert main(["list", kind]) == 0
    assert capsys.readouterr().out.splitlines() == snnq.REGISTRIES[kind].names()


def test_list_quantizers_names_every_builtin(capsys):
    main(["list", "quantizers"])
    names = capsys.readouterr().out.split()
    assert names == sorted(["binary", "dynamic_fixed_point", "fixed_point", "log2", "lsq", "s1_median", "s1_ternary", "sigmoid_sum", "ternary", "uniform"])


def test_console_script_is_installed_and_runs():
    script = shutil.which("snnq", path=str(Path(sys.executable).parent))
    assert script, "the 'snnq' console script is not installed next to this Python"
    out = subprocess.run([script, "list", "quantizers"], check=True, capture_output=True, text=True).stdout
    assert "ternary" in out.splitlines()


def test_unknown_kind_is_rejected_with_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["list", "quantiser"])
    assert "invalid choice: 'quantiser'" in capsys.readouterr().err
