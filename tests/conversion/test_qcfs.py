"""QCFS conversion is not lossless: its accuracy approaches the ANN's as T grows; the curve is written and drawn."""

import json

from snnq.conversion import accuracy_against_steps, save_accuracy_against_steps
from tests.conversion.conftest import batches


def test_accuracy_grows_with_time_steps_towards_the_ann(qcfs_lenet, mnist, tmp_path):
    result = accuracy_against_steps(qcfs_lenet, batches(*mnist["test"], count=500), steps=(1, 2, 4, 8, 16, 32))
    accuracy = {point["steps"]: point["accuracy"] for point in result["points"]}
    assert result["ann_accuracy"] > 0.9
    assert accuracy[32] > accuracy[1] + 0.05  # one step is too few for 8 levels
    assert accuracy[32] > result["ann_accuracy"] - 0.03  # and 32 steps come close to the ANN
    assert [p["spikes_per_inference"] for p in result["points"]] == sorted(p["spikes_per_inference"] for p in result["points"])
    save_accuracy_against_steps(result, tmp_path / "qcfs.json", tmp_path / "qcfs.png")
    assert json.loads((tmp_path / "qcfs.json").read_text()) == result
    assert (tmp_path / "qcfs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
