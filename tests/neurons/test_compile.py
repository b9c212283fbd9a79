"""Quantized snnq networks under ``torch.compile``: one graph (the fused kernels step aside for the compiler's own
fusion, and no data-dependent test breaks the graph), the eager spikes and gradients."""

import torch
from torch import nn

import snnq


def quantized_network() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), snnq.neuron("lif", bits=8), nn.Linear(30, 5), snnq.neuron("if", bits=6))
    snnq.quantize_(model, {"weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True})
    return model


def test_a_quantized_spiking_network_is_one_graph():
    model = quantized_network()

    def run(x):
        snnq.reset_state(model)
        return model(x)

    explained = torch._dynamo.explain(run)(torch.randn(4, 2, 20))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), [r.reason for r in explained.break_reasons]


def test_compiled_graph_gives_the_eager_spikes_and_gradients():
    x = (torch.randn(6, 3, 20) * 2).requires_grad_(True)
    results = []
    for compiled in (False, True):
        model = quantized_network()

        def run(x, model=model):
            snnq.reset_state(model)
            return model(x)

        fn = torch.compile(run, backend="aot_eager", fullgraph=True) if compiled else run
        spikes = fn(x)
        results.append((spikes, torch.autograd.grad(spikes.sum(), [x, *model.parameters()])))
    (eager, eager_grads), (compiled, compiled_grads) = results
    assert torch.equal(eager, compiled)
    for a, b in zip(eager_grads, compiled_grads):
        torch.testing.assert_close(a, b)
