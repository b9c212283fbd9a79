"""Run directories of briefly trained integer LeNet-5s on MNIST (the conversion tests' models), shared by the
export and RTL tests."""

from __future__ import annotations

import pytest

from tests.conversion.conftest import CAT_CONFIG, INTEGER_IO, QCFS_CONFIG, RATE_CONFIG, mnist, quantized_lenet  # noqa: F401  (mnist: a fixture)
from tests.export.helpers import CODINGS, lenet_run_dir

IMAGES = 100
SAMPLES = 3_000  # training images: the tests need integer networks, not accurate ones


@pytest.fixture(scope="session")
def export_lenets(mnist):  # noqa: F811
    """The conversion tests' integer LeNet-5s (integer inputs and biases, max pooling), trained on 3,000 images."""
    return {"rate": quantized_lenet({**RATE_CONFIG, **INTEGER_IO}, mnist, samples=SAMPLES, pool="max"),
            "ttfs": quantized_lenet({**CAT_CONFIG, **INTEGER_IO}, mnist, samples=SAMPLES, pool="max")}


@pytest.fixture(scope="session")
def lenet_runs(export_lenets, mnist, tmp_path_factory):  # noqa: F811
    """Run directories (network.ir.npz + hw_inputs.npz with the first 100 MNIST test images) per coding."""
    images, labels = mnist["test"][0][:IMAGES], mnist["test"][1][:IMAGES]
    root = tmp_path_factory.mktemp("runs")
    return {coding: lenet_run_dir(root / coding, export_lenets[model], coding, images, labels, **options)
            for coding, (model, options) in CODINGS.items()}


@pytest.fixture(scope="session")
def qcfs_run(mnist, tmp_path_factory):  # noqa: F811
    """A QCFS LeNet-5 (average pooling, power-of-two clip) converted to the parallel schedule with T = 8."""
    config = {"activation": {**QCFS_CONFIG["activation"], "pow2_scale": True}, **INTEGER_IO,
              "weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True}
    model = quantized_lenet(config, mnist, samples=SAMPLES // 2)
    images, labels = mnist["test"][0][:IMAGES], mnist["test"][1][:IMAGES]
    return lenet_run_dir(tmp_path_factory.mktemp("runs") / "qcfs", model, "qcfs", images, labels, steps=8)
