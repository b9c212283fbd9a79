"""`quantize_` on ordinary snnTorch and SpikingJelly 2.0 networks: quantize, train one step, export integers."""

import torch
from torch import nn

import snnq

import snntorch
from snntorch import utils as snn_utils
from spikingjelly.activation_based import functional, layer, neuron, surrogate

CONFIG = {"weight": {"name": "fixed_point", "bits": 4}}


def _train_one_step(net: nn.Module, forward) -> None:
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.rand(16, 1, 12, 12), torch.randint(0, 10, (16,))
    before = [p.detach().clone() for p in net.parameters()]
    loss = nn.functional.cross_entropy(forward(x), y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = [not torch.equal(b, p) for b, p in zip(before, net.parameters())]
    assert all(changed), "every parameter, the float weights under the quantizers included, gets a step"


def _check_integers(net: nn.Module, names: list[str]) -> None:
    forms = snnq.integer_weights(net)
    assert sorted(forms) == sorted(names)
    net.eval()
    for name, form in forms.items():
        assert form.codes.dtype == torch.int8 and int(form.codes.min()) >= -8 and int(form.codes.max()) <= 7
        assert torch.equal(form.dequantize(), net.get_submodule(name).weight)


def test_snntorch_network_with_quantized_weights_and_membrane():
    torch.manual_seed(0)
    state_quant = snnq.membrane_quantizer(8, threshold=1.0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.MaxPool2d(2), snntorch.Leaky(beta=0.9, init_hidden=True, state_quant=state_quant),
        nn.Flatten(), nn.Linear(8 * 5 * 5, 10), snntorch.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    snnq.quantize_(net, CONFIG)

    def forward(x):
        snn_utils.reset(net)
        total = 0
        for _ in range(4):
            _, mem = net(x)
            total = total + mem
        return total

    _train_one_step(net, forward)
    _check_integers(net, ["0", "4"])
    # the membrane of the first LIF layer sits on the 8-bit grid whose step is threshold / 64
    membrane = net[2].mem * 64
    assert torch.equal(membrane, membrane.round()) and membrane.abs().max() <= 128


def test_spikingjelly_network_with_quantized_weights():
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, 8, 3), layer.MaxPool2d(2), neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
        layer.Flatten(), layer.Linear(8 * 5 * 5, 10), neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
    )
    functional.set_step_mode(net, "m")
    snnq.quantize_(net, CONFIG)

    def forward(x):
        functional.reset_net(net)
        return net(x.unsqueeze(0).repeat(4, 1, 1, 1, 1)).mean(0) * 10

    _train_one_step(net, forward)
    _check_integers(net, ["0", "4"])
    assert isinstance(net[0], layer.Conv2d) and net[0].step_mode == "m"


def test_snntorch_state_quant_matches_the_integer_grid_at_the_same_level_count():
    """snnq's quantizer with 2^b levels over the same span lands on the same grid as snnTorch's state_quant."""
    from snntorch.functional import quant

    bits, threshold = 6, 1.0
    # snnTorch's uniform levels: linspace(-threshold, threshold * (1 + upper_limit), 2^bits)
    reference = quant.state_quant(num_bits=bits, uniform=True, threshold=threshold, lower_limit=0, upper_limit=0)
    ours = snnq.quantizer("uniform", bits=bits, signed=True, scale=2 * threshold / (2**bits - 1))
    x = torch.linspace(-0.999, 0.999, 1001)
    # snnTorch's grid is offset by half a step (levels at -1 + k * 2/63); shift ours onto it to compare
    offset = -threshold + 2 ** (bits - 1) * 2 * threshold / (2**bits - 1)
    assert torch.allclose(ours(x - offset) + offset, reference(x), atol=1e-6)
