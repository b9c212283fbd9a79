"""NIR export of a directly trained snnq spiking network: a ``nn.Sequential`` of synapses, pooling and snnq neurons.

A network trained through time (no integer IR yet) is exported in value units: each ``Linear``/``Conv2d`` node holds
the module's effective weight, which for a quantized layer is exactly ``codes * scale`` (checked; the codes' bits,
scales and rounding go to the node's metadata), ``AvgPool2d`` and ``Flatten`` map one to one, and every snnq
neuron becomes the closest NIR neuron (``if``: ``IF`` with ``r = 1/dt``; ``lif``/``plif``: ``LIF`` with
``tau = dt / (1 - beta)``, ``r = tau / dt``), its exact rule (registered name, options, learned parameters: reset
by subtraction, initial membrane, integer membrane width and threshold code, shift or fixed-point leak) in the
metadata, from which `snnq.export.import_nir` rebuilds the same neuron. The network runs ``[T, B, ...]`` as
``snnq.models.ConvSNN`` does: stateless layers on every step, neurons over the sequence.

Refused (listed by `NIRUnsupportedError`): batch normalisation (fold it first; NIR has no such node), max pooling
(NIR has none), dropout in training mode, and modules with no NIR counterpart.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from torch import nn

from snnq.export.errors import ExportError, NIRUnsupportedError
from snnq.export.nir_export import DT, FORMAT, FORMAT_VERSION, _meta, _nir

NEURON_NODES = ("if", "lif", "plif")
SKIPPED = (nn.Identity, nn.Dropout)
_DROPPED_OPTIONS = ("surrogate", "alpha", "detach_reset")  # training-only options


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    sequence = model if isinstance(model, nn.Sequential) else getattr(model, "layers", None)
    if not isinstance(sequence, nn.Sequential):
        raise ExportError(f"NIR export of a {type(model).__name__}: give an nn.Sequential (or a model whose .layers is one)")
    prefix = "" if sequence is model else "layers."
    return [(prefix + name, module) for name, module in sequence.named_children()]


def _weight_facts(module: nn.Module) -> dict[str, Any]:
    from snnq.conversion.trace import weight_quantizer

    quantizer = weight_quantizer(module)
    if quantizer is None:
        return {"quantized": False}
    form = quantizer.integer_form(module.parametrizations.weight.original.detach())
    rebuilt = form.dequantize().detach().to(module.weight.dtype)
    if not torch.equal(rebuilt, module.weight.detach()):
        raise ExportError(f"{type(module).__name__}: its weight is not exactly codes x scale; cannot keep its quantization")
    scale = form.scale.detach().double().reshape(-1).numpy()
    return {"quantized": True, "bits": form.bits, "encoding": form.encoding, "scale": scale.tolist(),
            "codes_min": int(form.codes.min()), "codes_max": int(form.codes.max()), "rounding": getattr(quantizer, "rounding", "half_up")}


def _neuron_facts(neuron: nn.Module) -> dict[str, Any]:
    config = {k: v for k, v in neuron.config().items() if k not in _DROPPED_OPTIONS}
    state = {k: v.detach().double().reshape(-1).tolist() for k, v in neuron.state_dict().items()}
    return {"snnq_neuron": neuron.registry_name, "config": config, "state": state, "shapes": {k: list(v.shape) for k, v in neuron.state_dict().items()}}


def _neuron_node(nir: Any, neuron: Any, shape: tuple[int, ...], name: str) -> Any:
    facts = _meta(**_neuron_facts(neuron))
    full = lambda v: np.full(shape, float(v))  # noqa: E731
    if neuron.registry_name == "if":
        return nir.IF(r=full(1.0 / DT), v_threshold=full(neuron.threshold), v_reset=full(0.0), metadata=facts)
    beta = float(neuron.leak.float_factor()) if hasattr(neuron.leak, "float_factor") else 1.0
    if not 0.0 < beta < 1.0:
        raise NIRUnsupportedError("NIR export", [(name, neuron.registry_name, f"leak factor {beta} outside (0, 1)")])
    tau = DT / (1.0 - beta)
    return nir.LIF(tau=full(tau), r=full(tau / DT), v_leak=full(0.0), v_threshold=full(neuron.threshold), v_reset=full(0.0), metadata=facts)


def module_graph(model: nn.Module, input_shape: tuple[int, ...], *, name: str = "network") -> Any:
    """The NIR graph of a trained sequential snnq SNN (see the module docstring); ``input_shape`` without time and batch."""
    from snnq.neurons.base import Neuron

    nir = _nir()
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(input_shape)})}
    problems: list[tuple[str, str, str]] = []
    shape = tuple(input_shape)
    with torch.no_grad():
        for child_name, module in _children(model):
            kind = type(module).__name__
            if isinstance(module, SKIPPED):
                if isinstance(module, nn.Dropout) and module.training:
                    problems.append((child_name, kind, "dropout in training mode (call model.eval())"))
                continue
            if isinstance(module, Neuron):
                if module.registry_name not in NEURON_NODES:
                    problems.append((child_name, kind, f"snnq neuron {module.registry_name!r} (exported: {', '.join(NEURON_NODES)})"))
                    continue
                nodes[child_name] = _neuron_node(nir, module, shape, child_name)
                continue
            out_shape = tuple(module(torch.zeros((1,) + shape)).shape[1:])  # stateless: one step of one sample
            if isinstance(module, nn.Linear):
                bias = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(module.out_features)
                nodes[child_name] = nir.Affine(weight=module.weight.detach().double().numpy(), bias=bias, metadata=_meta(**_weight_facts(module)))
            elif isinstance(module, nn.Conv2d) and isinstance(module.padding, str):
                problems.append((child_name, kind, f"padding={module.padding!r} (give numbers)"))
            elif isinstance(module, nn.Conv2d):
                bias = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(module.out_channels)
                nodes[child_name] = nir.Conv2d(input_shape=tuple(shape[1:]), weight=module.weight.detach().double().numpy(), stride=module.stride,
                                               padding=module.padding, dilation=module.dilation, groups=module.groups, bias=bias,
                                               metadata=_meta(**_weight_facts(module)))
            elif isinstance(module, nn.AvgPool2d):
                pair = lambda v: np.array(v if isinstance(v, tuple) else (v, v))  # noqa: E731
                nodes[child_name] = nir.AvgPool2d(kernel_size=pair(module.kernel_size), stride=pair(module.stride), padding=pair(module.padding))
            elif isinstance(module, nn.Flatten):
                shift = lambda d: d - 1 if d > 0 else d  # noqa: E731  NIR counts dimensions without the batch
                nodes[child_name] = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=shift(module.start_dim), end_dim=shift(module.end_dim))
            else:
                why = {"BatchNorm2d": "batch normalisation (fold it into the weights first; NIR has no such node)",
                       "MaxPool2d": "max pooling (NIR has no max pooling node)"}.get(kind, "no NIR counterpart")
                problems.append((child_name, kind, why))
            shape = out_shape
    if problems:
        raise NIRUnsupportedError(f"NIR export of {name!r}", problems)
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    order = list(nodes)
    facts = {"format": FORMAT, "format_version": FORMAT_VERSION, "network": name, "form": "module", "units": "value",
             "steps_to_run": "any: the network runs every step", "dt": DT, "exact_in": ["nir", "snnq"],
             "not_exact_in": {"snntorch": "snnq's neuron rules (reset by subtraction, integer membranes) are only in the metadata",
                              "spikingjelly": "snnq's neuron rules (reset by subtraction, integer membranes) are only in the metadata"}}
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), metadata={"snnq": json.dumps(facts)})


def rebuild_neuron(facts: dict[str, Any]) -> nn.Module:
    """The snnq neuron that a node's metadata describes (options and learned parameters)."""
    import snnq

    neuron = snnq.neuron(facts["snnq_neuron"], **facts["config"])
    state = {k: torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(facts["shapes"][k])) for k, v in facts["state"].items()}
    if state:
        current = neuron.state_dict()
        neuron.load_state_dict({k: v.to(current[k].dtype) for k, v in state.items()})
    return neuron
