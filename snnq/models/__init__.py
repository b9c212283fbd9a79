"""Networks the seed papers use, registered by name: ``snnq.MODELS.build("lenet5")``."""

from snnq.models.lenet import LeNet5
from snnq.models.resnet import ResNet18
from snnq.models.vgg import VGG

__all__ = ["LeNet5", "ResNet18", "VGG"]
