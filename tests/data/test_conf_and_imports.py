"""Every Hydra config of the data group instantiates its data module; importing stays lean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(path.stem for path in (ROOT / "conf" / "data").glob("*.yaml"))
CLASSES = {
    "mnist": "MNISTDataModule",
    "cifar10": "CIFAR10DataModule",
    "cifar100": "CIFAR100DataModule",
    "nmnist": "NMNISTDataModule",
    "dvs_gesture": "DVSGestureDataModule",
    "digits": "DigitsDataModule",
}
HEAVY = ("lightning", "pytorch_lightning", "tonic", "torchvision", "hydra", "omegaconf")


def test_there_is_one_config_per_data_module():
    assert CONFIGS == sorted(CLASSES)


@pytest.mark.parametrize("name", CONFIGS)
def test_each_config_composes_and_instantiates(name, shared_data, monkeypatch, tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    import snnq.data

    monkeypatch.setenv("SNNQ_DATA", str(shared_data))
    monkeypatch.setenv("SNNQ_CACHE", str(tmp_path))
    with initialize_config_dir(config_dir=str(ROOT / "conf" / "data"), version_base="1.3"):
        config = compose(config_name=name)
    module = instantiate(config)
    assert type(module) is getattr(snnq.data, CLASSES[name])
    assert module.data_dir == shared_data / name and module.cache_dir == tmp_path


def test_the_default_paths_point_at_the_shared_data(monkeypatch):
    from hydra import compose, initialize_config_dir

    monkeypatch.delenv("SNNQ_DATA", raising=False)
    monkeypatch.delenv("SNNQ_CACHE", raising=False)
    with initialize_config_dir(config_dir=str(ROOT / "conf" / "data"), version_base="1.3"):
        config = compose(config_name="nmnist")
    assert config.data_dir == "../shared/data/nmnist" and config.cache_dir is None


def test_the_mnist_config_reads_the_real_data(shared_data, monkeypatch, tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    monkeypatch.setenv("SNNQ_DATA", str(shared_data))
    with initialize_config_dir(config_dir=str(ROOT / "conf" / "data"), version_base="1.3"):
        config = compose(config_name="mnist", overrides=["limit=64", f"cache_dir={tmp_path}"])
    module = instantiate(config)
    module.setup("test")
    assert len(module.test_set) == 64


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return set(json.loads(out))


def test_import_snnq_does_not_import_the_data_layer():
    loaded = _modules_after("import snnq")
    assert "snnq.data" not in loaded


def test_import_snnq_data_and_its_encoders_import_no_framework():
    statement = (
        "import snnq.data, snnq.data.encoders, snnq.data.event_frames, snnq.data.frame_transform, snnq.data.collate; "
        "snnq.data.ENCODERS.names()"
    )
    loaded = {name.split(".")[0] for name in _modules_after(statement)}
    assert not loaded & set(HEAVY), f"loaded {sorted(loaded & set(HEAVY))}"
