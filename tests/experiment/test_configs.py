"""Every config group option and every recipe composes; what they name exists; bad input is refused clearly."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import snnq
from snnq.errors import ConfigError, UnknownNameError
from snnq.experiment.paths import check_recipe, recipe_names
from snnq.experiment.pipeline import build_model
from snnq.experiment.safety import check_targets, to_plain
from snnq.quant import QuantConfig
from tests.experiment.conftest import CONF, composed, job

GROUPS = {group.name: sorted(p.stem for p in group.glob("*.yaml")) for group in CONF.iterdir() if group.is_dir() and group.name != "recipe"}
OPTIONS = [(group, option) for group, options in GROUPS.items() for option in options]
RECIPES = recipe_names()

EXPECTED_RECIPES = {
    "demo", "liu2018/mnist_4bit", "liu2018/mnist_8bit_dfp", "liu2018/cifar10_4bit", "liu2018/cifar10_8bit_dfp",
    "zou2021/mnist_lenet", "zou2021/cifar10_vgg", "lew2022/cifar10_vgg16_ttfs", "nimbekar2024/cifar10_vgg11_t8",
    "nimbekar2024/cifar10_resnet18_t8", "shymyrbay2023/nmnist_binary", "shymyrbay2023/dvsgesture_binary",
}


def test_every_required_recipe_exists():
    assert EXPECTED_RECIPES <= set(RECIPES)


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_config_group_option_composes_and_builds(group, option):
    with composed([f"{group}={option}"]) as cfg:
        plain = to_plain(job(cfg))
    check_targets(plain)
    if group == "model":
        assert sum(p.numel() for p in build_model(plain["model"]).parameters()) > 0
    if group == "quant":
        spec = {k: v for k, v in plain["quant"].items() if k not in ("keep_float", "overrides")}
        if spec:
            QuantConfig.from_dict(spec)
    if group == "convert" and plain["convert"]["method"]:
        assert plain["convert"]["method"] in snnq.CONVERTERS.names()
    if group == "hardware":
        from snnq.hardware import load_preset

        load_preset(option)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_composes_with_a_paper_figure_and_known_parts(recipe):
    with composed([f"recipe={recipe}"]) as cfg:
        plain = to_plain(job(cfg))
    assert plain["recipe_name"] == recipe
    check_targets(plain)
    build_model(plain["model"])
    assert plain["expected"], f"{recipe} states no expected figure"
    for item in plain["expected"]:
        assert {"metric", "value", "source"} <= set(item)
        assert any(k in item for k in ("tolerance", "max", "min")), f"{recipe}: {item['metric']} has no pass criterion"


def test_unknown_recipe_names_the_closest():
    with pytest.raises(UnknownNameError, match=r"unknown recipe 'zou2021/mnist_lenett' \(did you mean 'zou2021/mnist_lenet'\?\)"):
        check_recipe("zou2021/mnist_lenett")


def test_unknown_override_key_is_refused_by_name():
    with pytest.raises(ConfigCompositionException, match=r"trainer\.max_epoch"), composed(["trainer.max_epoch=3"]):
        pass


def test_a_target_outside_the_allow_list_is_refused():
    config = OmegaConf.create({"data": {"_target_": "os.system", "command": "true"}, "model": {"name": "mlp"}})
    with pytest.raises(ConfigError, match=r"refusing to instantiate data\._target_ = 'os\.system'"):
        check_targets(config)
    check_targets(OmegaConf.create({"data": {"_target_": "snnq.data.DigitsDataModule"}}))
