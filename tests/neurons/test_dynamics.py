"""Hand-computed behaviour of each neuron: the equations in the docstrings, checked on small cases."""

import math

import pytest
import torch

import snnq


def seq(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).reshape(-1, 1, 1)


def spikes_of(neuron, x: torch.Tensor) -> list[int]:
    return neuron(x).flatten().int().tolist()


def test_if_reset_by_subtraction_counts_the_integral():
    """With threshold 1 and a constant input 0.3, the neuron fires floor(0.3 t) times by step t."""
    neuron = snnq.neuron("if")
    out = spikes_of(neuron, seq(*[0.3] * 10))
    assert out == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]


def test_if_precharge_half_rounds_instead_of_flooring():
    neuron = snnq.neuron("if", precharge=0.5)
    assert sum(spikes_of(neuron, seq(*[0.3] * 10))) == round(0.3 * 10 + 0.5 - 0.5)  # 3 spikes: floor(3 + 0.5)


def test_reset_to_zero_discards_the_surplus():
    assert spikes_of(snnq.neuron("if", reset="zero"), seq(0.9, 0.9, 0.9, 0.9)) == [0, 1, 0, 1]
    assert spikes_of(snnq.neuron("if", reset="subtract"), seq(0.9, 0.9, 0.9, 0.9)) == [0, 1, 1, 1]


def test_integer_lif_shift_leak_values():
    """bits=8, threshold code 64; leak u - (u >> 2); input 0.5 -> 32 codes every step."""
    neuron = snnq.neuron("lif", bits=8, leak_shift=2)
    spikes, traces = neuron.run_integer(seq(*[0.5] * 5))
    # u: 32 -> 32-8+32=56 -> 56-14+32=74 fires -> 10 -> 10-2+32=40
    assert traces["membrane"].flatten().tolist() == [32, 56, 10, 40, 62]
    assert spikes.flatten().tolist() == [0, 0, 1, 0, 0]


def test_integer_lif_factor_leak_rounds_half_up():
    """beta 0.5 with F=1: m = 1, u <- (u + 1) >> 1: 5 -> 3, -5 -> -2."""
    neuron = snnq.neuron("lif", bits=8, beta=0.5, leak_bits=1, threshold=10.0, threshold_code=10)
    _, traces = neuron.run_integer(torch.tensor([[5.0, -5.0], [0.0, 0.0]]).unsqueeze(-1))
    assert traces["membrane"][1].flatten().tolist() == [3, -2]


def test_membrane_saturates_at_the_bit_width():
    neuron = snnq.neuron("if", bits=4, threshold=1.0, threshold_code=4, reset="zero")  # codes -8..7
    _, traces = neuron.run_integer(seq(-10.0, -10.0, 1.5))
    assert traces["membrane"].flatten().tolist() == [-8, -8, -2]


def test_lif_float_mode_is_the_textbook_equation():
    neuron = snnq.neuron("lif", beta=0.5)
    x = seq(0.8, 0.8, 0.8)
    # u1 = 0.8, u2 = 0.4 + 0.8 = 1.2 -> spike, u2 = 0.2, u3 = 0.1 + 0.8 = 0.9
    assert spikes_of(neuron, x) == [0, 1, 0]
    assert neuron.state["membrane"].item() == pytest.approx(0.9)


def test_plif_learns_its_time_constant():
    neuron = snnq.neuron("plif", beta=0.5)
    x = (torch.rand(20, 8, 10) * 0.6).requires_grad_(False)
    before = float(neuron.leak.beta().detach())
    optimizer = torch.optim.SGD(neuron.parameters(), lr=5.0)
    for _ in range(30):  # ask for more spikes: a slower leak gives them
        neuron.reset_state()
        loss = -neuron(x).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(neuron.leak.beta().detach()) > before + 0.05


def test_scatter_gather_spike_count_is_the_rounded_activation():
    levels = 4
    neuron = snnq.neuron("sg_stateless", levels=levels, threshold=0.5, spacing=1.0)
    x = torch.linspace(-1, 6, 57).reshape(1, 1, -1)
    spikes = neuron(x)
    assert spikes.shape == (1, 1, 57, levels)
    count = spikes.sum(-1).flatten()
    assert torch.equal(count, torch.floor(x.flatten() + 0.5).clamp(0, levels))
    assert torch.equal(spikes, torch.sort(spikes, dim=-1, descending=True).values)  # a thermometer code
    assert int(spikes.max()) == 1  # at most one spike per sub-neuron per step


def test_scatter_gather_is_stateless():
    neuron = snnq.neuron("sg_stateless", bits=8)
    x = torch.rand(6, 2, 3) * 4
    together = neuron(x)
    neuron.reset_state()
    one_by_one = torch.cat([neuron(x[t : t + 1]) for t in range(6)])
    shuffled = neuron(x.flip(0)).flip(0)
    assert torch.equal(together, one_by_one) and torch.equal(together, shuffled)


@pytest.mark.parametrize("rounding", ["nearest", "log_nearest", "floor"])
def test_ttfs_spike_time_is_the_log2_quantizers_exponent(rounding):
    """A TTFS neuron's spike time for potential v equals the exponent the log2 quantizer gives v / x_max."""
    window, x_max = 6, 2.0
    neuron = snnq.neuron("ttfs", window=window, threshold=x_max, rounding=rounding)
    quantizer = snnq.quantizer("log2", levels=window, signed=False, scale=x_max, rounding=rounding)
    potentials = torch.tensor([2.5, 2.0, 1.6, 1.4, 0.9, 0.51, 0.26, 0.2, 0.1, 0.07, 0.05, 0.01, 0.0, -1.0])
    x = torch.zeros(2 * window, len(potentials))
    x[0] = potentials  # integrated in the first window, fired in the second
    spikes = neuron(x.unsqueeze(1)).squeeze(1)
    assert spikes[:window].sum() == 0  # the first window is silent
    assert int(spikes.sum(0).max()) <= 1  # at most one spike
    codes = quantizer.integer_form(potentials).codes  # e + 1, 0 for zero
    times = torch.where(spikes[window:].any(0), spikes[window:].argmax(0) + 1, torch.zeros_like(codes))
    assert times.tolist() == codes.tolist()


def test_ttfs_integer_comparisons_are_exact_at_the_thresholds():
    neuron = snnq.neuron("ttfs", window=4, threshold=1.0, bits=10, rounding="nearest")  # code 256 = x_max
    unit = 1.0 / 256
    # 0.75 * 2^-1 = 0.375 = 96 codes exactly: 96 fires at t = 1, 95 at t = 2
    x = torch.zeros(8, 1, 2)
    x[0, 0] = torch.tensor([96 * unit, 95 * unit])
    spikes, _ = neuron.run_integer(x)
    assert spikes[4:, 0, 0].tolist() == [0, 1, 0, 0] and spikes[4:, 0, 1].tolist() == [0, 0, 1, 0]


def test_surrogate_gradient_reaches_inputs_and_weights():
    torch.manual_seed(0)
    for name in snnq.NEURONS.names():
        layer = torch.nn.Linear(5, 4)
        neuron = snnq.neuron(name, bits=8)
        x = torch.rand(10, 3, 5) * 2
        out = neuron(layer(x))
        out.sum().backward()
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0, name


@pytest.mark.parametrize("name", ["atan", "sigmoid", "triangle", "rectangle"])
def test_surrogates_match_their_formulas(name):
    alpha = 3.0
    surrogate = snnq.surrogate(name, alpha=alpha)
    x = torch.linspace(-2, 2, 41)
    expected = {
        "atan": alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2),
        "sigmoid": alpha * torch.sigmoid(alpha * x) * (1 - torch.sigmoid(alpha * x)),
        "triangle": alpha * torch.clamp(1 - alpha * x.abs(), min=0),
        "rectangle": alpha * (x.abs() < 0.5 / alpha).float(),
    }[name]
    torch.testing.assert_close(surrogate.derivative(x), expected)
    xs = x.clone().requires_grad_(True)
    spikes = surrogate.spike(xs)
    assert torch.equal(spikes, (x >= 0).float())
    spikes.sum().backward()
    torch.testing.assert_close(xs.grad, expected)


def test_surrogate_choice_changes_the_gradient_only():
    x = (torch.randn(6, 2, 8) * 2).requires_grad_(True)
    grads, outs = [], []
    for name in ["atan", "sigmoid", "triangle", "rectangle"]:
        neuron = snnq.neuron("lif", surrogate=name)
        out = neuron(x)
        (g,) = torch.autograd.grad(out.sum(), x)
        outs.append(out)
        grads.append(g)
    assert all(torch.equal(o, outs[0]) for o in outs)
    assert not torch.allclose(grads[0], grads[1])
