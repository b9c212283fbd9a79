"""The fast closed forms of the spiking layers equal what their neurons do step by step."""

import pytest
import torch

from snnq.conversion.layers import RateActivation, ScatterGatherActivation, TTFSActivation


def currents(step: float) -> torch.Tensor:
    torch.manual_seed(0)
    ties = (torch.arange(-3, 20, dtype=torch.float32) + 0.5) * step  # exactly half a step: rounding ties
    return torch.cat([ties, torch.randn(200) * 6 * step, torch.tensor([0.0, -1e6, 1e6, step * 15, step * 15.49])]).reshape(2, -1)


@pytest.mark.parametrize("step", [0.25, 0.3, 1 / 64])
def test_rate_layer_closed_form_is_the_if_neuron(step):
    layer = RateActivation(step=step, levels=15, steps=15, source="x")
    x = currents(step)
    fired, closed = layer.fire(x), layer.closed_form(x)
    assert torch.equal(fired.total(), closed.total())
    assert torch.equal(fired.spikes, layer.spike_record(closed))
    assert torch.equal(closed.counted, torch.floor(x / step + 0.5).clamp(0, 15))  # the quantizer's rounding


@pytest.mark.parametrize("levels", [1, 4, 15])
def test_scatter_gather_layer_closed_form_is_the_group(levels):
    layer = ScatterGatherActivation(step=0.5, levels=levels, source="x")
    x = currents(0.5)
    fired, closed = layer.fire(x), layer.closed_form(x)
    assert torch.equal(fired.total(), closed.total())
    assert torch.equal(fired.spikes, layer.spike_record(closed))
    assert fired.spikes.shape == (1, *x.shape, levels)


@pytest.mark.parametrize("rounding", ["nearest", "log_nearest", "floor"])
def test_ttfs_layer_closed_form_is_the_neuron(rounding):
    layer = TTFSActivation(x_max=2.0, levels=6, rounding=rounding, source="x")
    x = torch.cat([currents(0.05), 2.0 * torch.exp2(-torch.arange(8.0)).reshape(2, -1).repeat(1, 2)], dim=1)
    fired, closed = layer.fire(x), layer.closed_form(x)
    assert torch.equal(fired.total(), closed.total())
    assert torch.equal(fired.spikes, layer.spike_record(closed))
    assert int(fired.spikes.sum(0).max()) == 1
