"""The plugin registry: names, errors that help, and third-party plug-ins through entry points."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

import snnq
from snnq.errors import ConfigError, UnknownNameError
from snnq.registry import QUANTIZERS, REGISTRIES, Registry


def test_the_five_registries_use_the_documented_entry_point_groups():
    groups = {kind: registry.group for kind, registry in REGISTRIES.items()}
    assert groups == {
        "quantizers": "snnq.quantizers",
        "neurons": "snnq.neurons",
        "converters": "snnq.converters",
        "models": "snnq.models",
        "backends": "snnq.backends",
        "encoders": "snnq.encoders",
    }


def test_quantizer_builds_a_module_by_name_with_options():
    quantizer = snnq.quantizer("uniform", bits=4, signed=True, scale=0.5)
    assert isinstance(quantizer, torch.nn.Module) and quantizer.registry_name == "uniform"
    assert torch.equal(quantizer(torch.tensor([0.74, 0.76, -10.0])), torch.tensor([0.5, 1.0, -4.0]))


def test_unknown_name_lists_valid_names_and_closest_match():
    with pytest.raises(UnknownNameError) as error:
        snnq.quantizer("ternay")
    message = str(error.value)
    assert "unknown quantizer 'ternay'" in message and "did you mean 'ternary'?" in message
    for name in QUANTIZERS.names():
        assert name in message


def test_unknown_option_names_the_quantizer_and_closest_option():
    with pytest.raises(ConfigError, match=r"quantizer 'fixed_point': unknown option 'bit' \(did you mean 'bits'\?\)"):
        snnq.quantizer("fixed_point", bit=4)


def test_names_are_snake_case_and_taken_once():
    registry: Registry[object] = Registry("thing", group="snnq.test-things")
    registry.add("my_thing", object)
    with pytest.raises(ConfigError, match="already registered"):
        registry.add("my_thing", dict)
    with pytest.raises(ConfigError, match="snake_case"):
        registry.add("MyThing", dict)
    assert registry.names() == ["my_thing"] and "my_thing" in registry and len(registry) == 1


@pytest.fixture
def throwaway_distribution(tmp_path, monkeypatch):
    """A distribution 'snnq-test-plugin' on sys.path that registers quantizer 'halve' through an entry point."""
    (tmp_path / "snnq_test_plugin.py").write_text(
        textwrap.dedent(
            '''
            import torch
            from snnq.quant import Encoding, Quantizer, CodeSet

            class HalvingQuantizer(Quantizer):
                """Rounds x / 2 to the nearest integer in [-4, 4]: values are multiples of 2."""

                def codeset(self):
                    return CodeSet(-4, 4)

                def encode(self, x):
                    from snnq.quant.ste import round_clamp_ste
                    return Encoding(round_clamp_ste(x / 2, -4, 4), torch.tensor(2.0, dtype=x.dtype))
            '''
        )
    )
    dist_info = tmp_path / "snnq_test_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: snnq-test-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[snnq.quantizers]\nhalve = snnq_test_plugin:HalvingQuantizer\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    QUANTIZERS.refresh()
    yield
    monkeypatch.delitem(sys.modules, "snnq_test_plugin", raising=False)
    QUANTIZERS._factories.pop("halve", None)
    monkeypatch.undo()
    QUANTIZERS.refresh()


def test_a_plugin_registered_by_entry_point_is_listed_and_built_by_name(throwaway_distribution):
    assert "halve" in QUANTIZERS.names()
    assert "snnq_test_plugin" not in sys.modules  # listed without being imported
    quantizer = snnq.quantizer("halve")
    assert quantizer.registry_name == "halve"
    assert torch.equal(quantizer(torch.tensor([3.1, -100.0, 0.4])), torch.tensor([4.0, -8.0, 0.0]))
    from snnq.testing import check_quantizer

    check_quantizer(quantizer, torch.randn(5, 3))


def test_a_broken_plugin_says_which_entry_point_failed(tmp_path, monkeypatch):
    dist_info = tmp_path / "broken_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[snnq.test-broken]\noops = no_such_module_anywhere:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("thing", group="snnq.test-broken")
    with pytest.raises(ConfigError, match="'oops' from entry point 'no_such_module_anywhere:Thing'"):
        registry.get("oops")
