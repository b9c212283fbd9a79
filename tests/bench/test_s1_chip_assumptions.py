"""``python -m bench s1_chip_assumptions``: each alternative is fitted again before the VGG is predicted."""

import pytest

from bench.s1_chip_assumptions import ALTERNATIVES, refitted
from snnq.hardware import load_preset
from snnq.hardware.modelled import NetworkCache, modelled_value
from snnq.hardware.spec import get_path


def test_every_alternative_refits_the_lenet_and_the_stated_one_is_the_preset():
    preset = load_preset("zou2021_chip")
    networks = NetworkCache()
    stated, *others = ALTERNATIVES.values()
    assert stated == {}
    for fit in preset.fits:  # the stated row is the preset: its stored constants are the fit rounded
        assert get_path(refitted(preset, stated).hardware, fit.param) == pytest.approx(get_path(preset.hardware, fit.param), abs=5e-5)
    copies = refitted(preset, ALTERNATIVES["weight copies on the free cores (chip.duplicate: output positions in parallel)"])
    assert get_path(copies.hardware, "timing.read_cycles") > 10 * get_path(preset.hardware, "timing.read_cycles")
    for overrides in others:  # without the re-fit the LeNet would move away from its published figures
        changed = refitted(preset, overrides)
        for check in (preset.check("lenet_latency"), preset.check("lenet_energy")):
            assert modelled_value(changed, check, networks) == pytest.approx(check.published, rel=1e-6)
