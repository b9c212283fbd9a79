"""Verilog simulators for the reference core: building the testbench with Verilator or Icarus Verilog, running it.

Both are Debian packages (``apt-get install verilator iverilog``; the Makefile's set-up installs them). A build
is cached in a directory named by the sha256 of the Verilog sources, the core's parameters and the simulator's
version (`build_key`), under ``$SNNQ_RTL_CACHE`` or ``~/.cache/snnq/rtl`` unless a directory is given, so a
core is compiled once per configuration. Verilator compiles the design to C++ (tens of seconds, then fast);
Icarus compiles in a second and simulates about a hundred times slower.

The Verilog lives in the repository's ``hardware/`` folder (``$SNNQ_HARDWARE_DIR`` overrides where it is).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from snnq.errors import UnknownNameError
from snnq.export.errors import CosimError
from snnq.export.rtl_core import CoreParameters

RTL_SOURCES = ("rtl/snn_pe.v", "rtl/snn_core.v", "tb/snn_tb.v")
"""Verilog of the core and its testbench, relative to the hardware folder."""


def hardware_dir() -> Path:
    """The ``hardware/`` folder holding the Verilog (``$SNNQ_HARDWARE_DIR``, else the checkout's)."""
    path = Path(os.environ.get("SNNQ_HARDWARE_DIR", Path(__file__).resolve().parents[2] / "hardware"))
    if not (path / RTL_SOURCES[1]).is_file():
        raise CosimError(f"no reference core at {path / RTL_SOURCES[1]}: set SNNQ_HARDWARE_DIR to the snnq checkout's hardware/ folder")
    return path


def default_cache() -> Path:
    return Path(os.environ.get("SNNQ_RTL_CACHE", Path.home() / ".cache" / "snnq" / "rtl"))


def _version(command: Sequence[str]) -> str:
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CosimError(f"{command[0]} does not run: {error}") from error
    return (result.stdout + result.stderr).strip().splitlines()[0] if (result.stdout + result.stderr).strip() else "unknown"


def build_key(simulator: str, params: CoreParameters, version: str) -> str:
    """sha256 (16 hex digits) of the sources, the parameters and the simulator's version."""
    digest = hashlib.sha256(f"{simulator}\n{version}\n{sorted(params.verilog().items())}\n".encode())
    root = hardware_dir()
    for name in (*RTL_SOURCES, "tb/tb_icarus.v", "tb/verilator_main.cpp"):
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


def _run(command: Sequence[str], *, cwd: Path | None = None, what: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise CosimError(f"{what} did not finish within {timeout} s") from error
    except OSError as error:
        raise CosimError(f"{what} could not start: {error}") from error
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise CosimError(f"{what} failed (exit status {result.returncode}):\n{tail}")
    return result


@dataclass(frozen=True)
class Simulation:
    """A built testbench: ``command(plusargs)`` is the command line that runs one pass."""

    simulator: str
    directory: Path
    prefix: tuple[str, ...]

    def run(self, plusargs: Mapping[str, str | os.PathLike[str]], *, timeout: float | None = None) -> None:
        args = [f"+{name}={value}" for name, value in plusargs.items()]
        _run([*self.prefix, *args], cwd=self.directory, what=f"the {self.simulator} simulation", timeout=timeout)


def _build_verilator(params: CoreParameters, directory: Path) -> None:
    root = hardware_dir()
    generics = [f"-G{name}={value}" for name, value in params.verilog().items()]
    command = ["verilator", "--cc", "--exe", "--build", "-j", str(os.cpu_count() or 1), "-O3", "--x-assign", "fast",
               "--x-initial", "fast", "--top-module", "snn_tb", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "-Wno-LATCH",
               *generics, "-Mdir", str(directory / "obj"), *(str(root / s) for s in RTL_SOURCES),
               str(root / "tb" / "verilator_main.cpp")]
    _run(command, cwd=directory, what="the Verilator build")


def _build_icarus(params: CoreParameters, directory: Path) -> None:
    root = hardware_dir()
    generics = [f"-Ptb_icarus.{name}={value}" for name, value in params.verilog().items()]
    command = ["iverilog", "-g2012", "-s", "tb_icarus", *generics, "-o", str(directory / "snn_tb.vvp"),
               *(str(root / s) for s in RTL_SOURCES), str(root / "tb" / "tb_icarus.v")]
    _run(command, cwd=directory, what="the Icarus Verilog build")


@dataclass(frozen=True)
class SimulatorSpec:
    """How to find, identify and build with one simulator."""

    executables: tuple[str, ...]
    version_command: tuple[str, ...]
    build: Callable[[CoreParameters, Path], None]
    product: str
    """The built file, relative to the build directory."""
    launcher: tuple[str, ...] = ()


SIMULATORS: Mapping[str, SimulatorSpec] = MappingProxyType({
    "verilator": SimulatorSpec(("verilator", "g++", "make"), ("verilator", "--version"), _build_verilator, "obj/Vsnn_tb"),
    "icarus": SimulatorSpec(("iverilog", "vvp"), ("iverilog", "-V"), _build_icarus, "snn_tb.vvp", ("vvp", "-n")),
})
"""Supported simulators; ``auto`` picks the first one installed, Verilator first (it runs much faster)."""


def available_simulators() -> list[str]:
    return [name for name, spec in SIMULATORS.items() if all(shutil.which(e) for e in spec.executables)]


def choose_simulator(name: str = "auto") -> str:
    """``name`` checked (installed?), or the first installed one for ``auto``; `CosimError` says how to install."""
    if name != "auto" and name not in SIMULATORS:
        raise UnknownNameError("simulator", name, [*SIMULATORS, "auto"])
    installed = available_simulators()
    if name == "auto":
        if not installed:
            raise CosimError("no Verilog simulator found: install Verilator or Icarus Verilog (Debian: apt-get install verilator iverilog)")
        return installed[0]
    if name not in installed:
        missing = [e for e in SIMULATORS[name].executables if not shutil.which(e)]
        raise CosimError(f"simulator {name!r} is not installed (missing: {', '.join(missing)}; Debian: apt-get install {'verilator' if name == 'verilator' else 'iverilog'})")
    return name


def build(simulator: str, params: CoreParameters, *, cache: str | os.PathLike[str] | None = None) -> Simulation:
    """The testbench of a core of size ``params`` built with ``simulator`` (reused from the cache when built before)."""
    spec = SIMULATORS[simulator]
    key = build_key(simulator, params, _version(spec.version_command))
    root = Path(cache) if cache is not None else default_cache()
    directory = root / f"{simulator}-{key}"
    if not (directory / spec.product).is_file():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{simulator}-{key}."))
        try:
            spec.build(params, staging)
            try:
                os.replace(staging, directory)  # atomic; a concurrent build that finished first wins
            except OSError:
                if not (directory / spec.product).is_file():
                    shutil.rmtree(directory, ignore_errors=True)
                    os.replace(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Simulation(simulator, directory, (*spec.launcher, str(directory / spec.product)))
