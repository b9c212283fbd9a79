"""Converters from quantized ANNs to spiking networks, and the check that they compute the same thing.

Registered converters: ``rate`` (S0), ``scatter_gather`` (S1), ``ttfs`` (S2) and ``qcfs`` (S3-style);
``snnq.convert(model, method=...)`` runs one, ``snnq.verify(model, snn, loader)`` reports how the result compares.
"""

from snnq.conversion.activity import Activity, Train
from snnq.conversion.base import Converter, convert
from snnq.conversion.curve import accuracy_against_steps, save_accuracy_against_steps
from snnq.conversion.integer_synapse import IntegerSynapse
from snnq.conversion.layers import QCFSActivation, RateActivation, ScatterGatherActivation, SpikingActivation, TTFSActivation
from snnq.conversion.network import SpikingNetwork
from snnq.conversion.qcfs import QCFSConverter
from snnq.conversion.rate import RateConverter
from snnq.conversion.reference import IntegerReference
from snnq.conversion.scatter_gather import ScatterGatherConverter
from snnq.conversion.ttfs import TTFSConverter
from snnq.conversion.to_ir import input_codes, to_ir
from snnq.conversion.verify import VerificationReport, verify

__all__ = [
    "Activity",
    "Converter",
    "IntegerReference",
    "IntegerSynapse",
    "QCFSActivation",
    "QCFSConverter",
    "RateActivation",
    "RateConverter",
    "ScatterGatherActivation",
    "ScatterGatherConverter",
    "SpikingActivation",
    "SpikingNetwork",
    "TTFSActivation",
    "TTFSConverter",
    "Train",
    "accuracy_against_steps",
    "save_accuracy_against_steps",
    "VerificationReport",
    "convert",
    "input_codes",
    "to_ir",
    "verify",
]
