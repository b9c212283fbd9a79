"""zou2021's recipes train S1's own networks (PAPERS.md S1 [V]); the earlier 4-bit stand-ins keep their own names."""

import pytest

from snnq.experiment.pipeline import build_model
from snnq.experiment.safety import to_plain
from tests.conftest import ROOT
from tests.experiment.conftest import composed, job

S1_RECIPES = {"zou2021/mnist_lenet": "s1_lenet", "zou2021/cifar10_vgg": "s1_vgg"}


def plain_recipe(recipe):
    with composed([f"recipe={recipe}"]) as cfg:
        return to_plain(job(cfg))


@pytest.mark.parametrize(("recipe", "model"), sorted(S1_RECIPES.items()))
def test_s1_recipes_train_the_authors_network_with_its_off_chip_layers_in_float(recipe, model):
    plain = plain_recipe(recipe)
    assert plain["model"]["name"] == model
    assert plain["quant"]["weight"] == {"name": "s1_ternary"}
    assert plain["quant"]["activation"] == {"name": "s1_median", "k": 1, "bound": 2, "rounding": "half_even"}
    assert "input" not in plain["quant"] and "per_channel" not in plain["quant"]
    assert tuple(plain["quant"]["keep_float"]) == build_model(plain["model"]).off_chip_layers()


def test_s1_lenet_recipe_states_the_papers_figure_and_the_bound():
    expected = {item["metric"]: item for item in plain_recipe("zou2021/mnist_lenet")["expected"]}
    assert (expected["snn_accuracy"]["value"], expected["snn_accuracy"]["min"]) == (99.37, 99.2)
    assert (expected["logit_mismatches"]["value"], expected["logit_mismatches"]["max"]) == (0, 0)
    plain = plain_recipe("zou2021/mnist_lenet")
    assert (plain["data"]["normalize"], plain["data"]["augment"]) == (False, False)  # raw pixels in [0, 1]


def test_s1_vgg_recipe_uses_24_pixel_crops():
    plain = plain_recipe("zou2021/cifar10_vgg")
    assert (plain["data"]["crop"], plain["data"]["padding"], plain["data"]["augment"], plain["data"]["flip"]) == (24, 0, True, True)
    assert plain["model"]["options"]["input_size"] == 24
    assert plain["trainer"]["max_epochs"] == 400 and plain["data"]["batch_size"] == 200
    expected = {row["metric"]: row for row in plain["expected"]}
    assert expected["snn_accuracy"]["value"] == 91.91 and expected["logit_mismatches"]["max"] == 0
    for metric, paper in (("hardware_latency_s", 3.24e-3), ("hardware_energy_j", 2.3e-3)):  # predictions: +-25 %
        assert expected[metric]["value"] == paper and expected[metric]["tolerance"] == 0.25 * paper
        assert "predicted" in expected[metric]["source"]


@pytest.mark.parametrize("recipe", ["zou2021/mnist_lenet_4bit_replicated", "zou2021/cifar10_vgg_4bit_replicated"])
def test_the_4bit_replicated_stand_ins_say_they_are_not_s1s_network(recipe):
    assert "NOT S1's network" in (ROOT / "recipes" / f"{recipe}.yaml").read_text()
    assert plain_recipe(recipe)["quant"]["weight"]["name"] == "dynamic_fixed_point"
