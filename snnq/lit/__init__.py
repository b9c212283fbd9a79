"""Lightning modules: quantization-aware training of ANNs and BPTT training of spiking networks."""

from snnq.lit.classifier import ClassifierModule, QATClassifier, SpikingClassifier
from snnq.lit.callbacks import EpochTimer, QuantizerEpochCallback

__all__ = ["ClassifierModule", "EpochTimer", "QATClassifier", "QuantizerEpochCallback", "SpikingClassifier"]
