"""The demo trains on real data (scikit-learn's digits) and its quantized SNN learns."""

from snnq.demo import run_demo


def test_demo_quantized_snn_learns_the_digits():
    result = run_demo(epochs=6, progress=False)
    assert result.test_samples == 360
    assert result.float_accuracy > 0.85 and result.quantized_accuracy > 0.85
