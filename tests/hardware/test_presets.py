"""Presets: nonsense is rejected by key, every constant has a source, fits are reproducible, the paper check runs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from snnq.errors import ConfigError
from snnq.hardware.check import run_checks
from snnq.hardware.fit import fit_preset
from snnq.hardware.presets import SOURCES, load_preset, parse_preset, preset_names, preset_paths, read_yaml
from snnq.hardware.spec import get_path, leaf_keys
from snnq.cli.main import main

PRESETS = ["lew2022_28nm", "liu2018_memristor", "nimbekar2024_pynq_z2", "zou2021_chip"]

KNOWN_MISSES = {
    # Predicted figures the physically motivated models miss; explained in snnq/hardware/README.md and the presets.
    ("liu2018_memristor", "energy_ratio"),  # 0.043 against the paper's 0.109 (89.1 % saved): the 8-bit windows cost 17x the steps
    ("liu2018_memristor", "area_ratio"),  # bit-sliced arrays and their converters scale with the width: ratio 0.50, paper 0.70
    ("zou2021_chip", "vgg_latency"),  # S1's VGG (4 CPU epochs) costs 4.2x S1's LeNet in row reads; the paper says 8.5x
    ("zou2021_chip", "vgg_energy"),  # the same work at the LeNet-fitted static power
}


def data(name: str) -> dict:
    return copy.deepcopy(read_yaml(preset_paths()[name]))


def test_the_four_paper_presets_are_found_and_load():
    assert preset_names() == PRESETS
    for name in PRESETS:
        preset = load_preset(name)
        assert preset.name == name and preset.checks


@pytest.mark.parametrize("name", PRESETS)
def test_every_hardware_constant_states_its_source(name):
    preset = load_preset(name)
    keys = leaf_keys(type(preset.hardware))
    listed = [k for s in SOURCES for k in getattr(preset.provenance, s)]
    assert sorted(listed) == sorted(keys)
    for key in preset.provenance.fitted:
        assert any(f.param == key for f in preset.fits)


def set_key(tree: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        tree = tree[part]
    if value is KeyError:
        del tree[last]
    else:
        tree[last] = value


@pytest.mark.parametrize(
    ("name", "key", "value", "message"),
    [
        ("liu2018_memristor", "hardware.tile.rows", -128, r"hardware\.tile\.rows: must be > 0, got -128"),
        ("liu2018_memristor", "hardware.tile.adc_bits", 0, r"hardware\.tile\.adc_bits: must be > 0, got 0"),
        ("liu2018_memristor", "hardware.tile.adc_bits", 40, r"hardware\.tile\.adc_bits: must be in 1\.\.16"),
        ("liu2018_memristor", "hardware.tile.rows", 12.5, r"hardware\.tile\.rows: expected an integer, got 12\.5"),
        ("liu2018_memristor", "hardware.tile.rows", True, r"hardware\.tile\.rows: expected an integer, got True"),
        ("liu2018_memristor", "hardware.tile.rows", "many", r"hardware\.tile\.rows: expected an integer"),
        ("liu2018_memristor", "hardware.chip.duplicate", "yes", r"hardware\.chip\.duplicate: expected true or false"),
        ("liu2018_memristor", "hardware.tile.readout", "paralel", r"hardware\.tile\.readout: unknown value 'paralel' \(did you mean 'parallel'\?\)"),
        ("liu2018_memristor", "hardware.chip.clock_hz", KeyError, r"hardware\.chip\.clock_hz: missing required key"),
        ("liu2018_memristor", "hardware.tile.adc_bit", 8, r"hardware\.tile\.adc_bit: unknown key \(did you mean 'adc_bits'\?\)"),
        ("liu2018_memristor", "hardware.energy.cell_pj", -0.1, r"hardware\.energy\.cell_pj: must be >= 0"),
        ("liu2018_memristor", "hardware.nonideal.stuck_on_rate", 1.0, r"stuck_on_rate \+ stuck_off_rate must be <= 1"),
        ("liu2018_memristor", "backend", "crosbar", r"backend: unknown backend 'crosbar' \(did you mean 'crossbar'\?\)"),
        ("liu2018_memristor", "provenance.assumed.tile.rows", KeyError, r"hardware key\(s\) without a source: tile\.rows"),
        ("liu2018_memristor", "provenance.table.tile.rows", "twice", r"provenance\.assumed: 'tile\.rows' is already listed under 'table'"),
        ("liu2018_memristor", "provenance.table.tile.row", "typo", r"provenance\.table: unknown hardware key 'tile\.row' \(did you mean 'tile\.rows'\?\)"),
        ("liu2018_memristor", "colour", "blue", r"colour: unknown key; valid keys of Preset"),
        ("zou2021_chip", "fits", [], r"provenance\.fitted\.timing\.read_cycles: has no entry in `fits`"),
        ("nimbekar2024_pynq_z2", "hardware.board.bram18", 0, r"hardware\.board\.bram18: must be > 0"),
        ("lew2022_28nm", "hardware.energy.sram_pj_per_bit", -1.0, r"hardware\.energy\.sram_pj_per_bit: must be >= 0"),
        ("lew2022_28nm", "hardware.core.queue_headroom", 0.5, r"hardware\.core\.queue_headroom: must be >= 1"),
    ],
)
def test_nonsense_presets_are_rejected_naming_the_key(name, key, value, message):
    tree = data(name)
    if key.startswith("provenance.") and key.count(".") > 2:  # provenance keys are dotted themselves
        group, hardware_key = key.split(".")[1], ".".join(key.split(".")[2:])
        entries = tree["provenance"][group]
        if value is KeyError:
            del entries[hardware_key]
        else:
            entries[hardware_key] = value
    else:
        set_key(tree, key, value)
    with pytest.raises(ConfigError, match=message):
        parse_preset(tree)


def test_checks_are_validated_too():
    tree = data("liu2018_memristor")
    tree["checks"][0]["figure"] = "sped_up"
    with pytest.raises(ConfigError, match=r"checks\[0\]\.figure: unknown value 'sped_up'"):
        parse_preset(tree)
    tree = data("liu2018_memristor")
    del tree["checks"][0]["baseline"]
    with pytest.raises(ConfigError, match=r"checks\[0\]\.baseline: figure 'speedup' needs baseline network"):
        parse_preset(tree)
    tree = data("liu2018_memristor")
    tree["checks"][0]["network"]["name"] = "lenet6_mnist"
    with pytest.raises(ConfigError, match=r"network\.name: unknown value 'lenet6_mnist' \(did you mean 'lenet5_mnist'\?\)"):
        parse_preset(tree)


def test_a_yaml_file_with_a_duplicate_key_or_the_wrong_name_is_refused(tmp_path):
    text = Path(preset_paths()["liu2018_memristor"]).read_text()
    broken = tmp_path / "liu2018_memristor.yaml"
    broken.write_text(text.replace("    rows: 128\n", "    rows: 128\n    rows: 256\n", 1))
    with pytest.raises(ConfigError, match="duplicate key"):
        load_preset(broken)
    renamed = tmp_path / "other.yaml"
    renamed.write_text(text)
    with pytest.raises(ConfigError, match="differs from the file name 'other'"):
        load_preset(renamed)


def test_an_unknown_preset_name_lists_the_presets():
    with pytest.raises(Exception, match=r"unknown hardware preset 'zou2021' \(did you mean 'zou2021_chip'\?\)"):
        load_preset("zou2021")


@pytest.mark.parametrize("name", ["lew2022_28nm", "nimbekar2024_pynq_z2", "zou2021_chip"])
def test_stored_fitted_constants_are_what_the_fit_gives(name):
    preset = load_preset(name)
    for param, value in fit_preset(preset).items():
        assert get_path(preset.hardware, param) == pytest.approx(value, rel=5e-3), param


def test_every_fitted_figure_is_reproduced_and_the_misses_are_the_documented_ones():
    results = run_checks()
    assert {r.preset for r in results} == set(PRESETS)
    assert all(r.passed for r in results if r.check.role == "fitted")
    assert {(r.preset, r.check.id) for r in results if r.failed} == KNOWN_MISSES
    # each paper with several figures has at least one predicted figure, and S0 is predicted only
    roles = {(r.preset, r.check.role) for r in results}
    assert {(p, "predicted") for p in PRESETS} <= roles and ("liu2018_memristor", "fitted") not in roles


def test_snnq_hw_presets_check_prints_modelled_against_published(capsys):
    code = main(["hw", "presets", "--check"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(tuple(PRESETS))]
    assert len(rows) == 14
    failed = [line for line in rows if line.rstrip().endswith("FAIL")]
    assert code == (1 if failed else 0)
    assert len(failed) == len(KNOWN_MISSES)
    for figure in ("0.38 ms", "0.28 mJ", "3.24 ms", "2.3 mJ", "38.4 GOPS", "1.54 W", ">= 9.8 x", "0.109 x", "0.7 x", "486.7 uJ", "503.6 uJ",
                   "1426 uJ", "no published figure"):
        assert figure in out, figure
    roles = ("  fitted  ", "  derived  ", "  predicted  ", "  no published figure  ")
    assert all(sum(role in line for role in roles) == 1 for line in rows)
    assert "predicted figures within tolerance: " in out and "outside tolerance: zou2021_chip vgg_latency" in out


def test_snnq_hw_presets_lists_them(capsys):
    assert main(["hw", "presets"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == PRESETS


def test_snnq_list_backends_shows_the_builtin_backends(capsys):
    assert main(["list", "backends"]) == 0
    assert capsys.readouterr().out.split() == ["crossbar", "digital", "fpga"]
