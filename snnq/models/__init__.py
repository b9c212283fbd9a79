"""Networks the seed papers use, registered by name: ``snnq.MODELS.build("lenet5")``."""

from snnq.models.lenet import LeNet5
from snnq.models.mlp import MLP
from snnq.models.resnet import ResNet18
from snnq.models.s1 import S1Net
from snnq.models.spiking import ConvSNN
from snnq.models.vgg import VGG

__all__ = ["ConvSNN", "LeNet5", "MLP", "ResNet18", "S1Net", "VGG"]
