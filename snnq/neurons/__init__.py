"""Spiking neurons for quantized hardware, registered by name, with an integer reference path.

Built-ins: ``if``, ``lif``, ``plif`` (`snnq.neurons.leaky`), ``sg_stateless`` (`snnq.neurons.scatter_gather`) and
``ttfs`` (`snnq.neurons.ttfs`). ``snnq.neuron(name, **options)`` builds snnq's own multi-step module;
``framework="snntorch"`` or ``"spikingjelly"`` wraps the same arithmetic in that framework's neuron class.
"""

from snnq.neurons.base import Neuron
from snnq.neurons.build import FRAMEWORKS, neuron, reset_state
from snnq.neurons.leaky import IFNeuron, LeakyNeuron, LIFNeuron, PLIFNeuron
from snnq.neurons.membrane import IntegerMembrane
from snnq.neurons.scatter_gather import ScatterGatherNeuron
from snnq.neurons.surrogate import SURROGATES, Surrogate, surrogate
from snnq.neurons.ttfs import TTFSNeuron

__all__ = [
    "FRAMEWORKS",
    "IFNeuron",
    "IntegerMembrane",
    "LIFNeuron",
    "LeakyNeuron",
    "Neuron",
    "PLIFNeuron",
    "SURROGATES",
    "ScatterGatherNeuron",
    "Surrogate",
    "TTFSNeuron",
    "neuron",
    "reset_state",
    "surrogate",
]
