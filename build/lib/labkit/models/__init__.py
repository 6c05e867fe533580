"""Models: every network of the labs, ANN and SNN twins built from the same layers.

One convention: a classifier is a :class:`FeatureClassifier`, a **body**
(``features(x)``, the representation the labs analyse) followed by a **head**
(``forward(x) = head(features(x))``, class scores); layers are reached by their
``named_modules()`` names (``body.3``, ``head.0``), which the recorder
(:func:`labkit.analysis.record_features`) takes. The one exception is
:class:`AlexNet`, which keeps torchvision's names (``features``, ``avgpool``,
``classifier``) so that the ImageNet weights load into it unchanged.

* :mod:`~labkit.models.classifiers`: the MNIST SNN and the CIFAR-10 CNN/SNN twins;
* :mod:`~labkit.models.resnet`: residual ANN/SNN twins for CIFAR-10;
* :mod:`~labkit.models.alexnet`: AlexNet (torchvision's ImageNet weights) and a CIFAR-sized variant;
* :mod:`~labkit.models.conv`: convolution written as explicit loops, for teaching;
* :mod:`~labkit.models.vqvae`: a small VQ-VAE for digits, whose decoder draws an image from a grid of code indices.
* :mod:`~labkit.models.localiser`: single-object localisers (spiking encoder-decoder and ANN twin), their loss and metrics.

The localisers are the other exception: they return a pair ``(class scores, box)``.
* :mod:`~labkit.models.autoencoder`: convolutional autoencoders, spiking and non-spiking twins, with a rate-code input;
* :mod:`~labkit.models.events`: a spiking classifier of event frames.
"""

from __future__ import annotations

from .alexnet import (
    CONV_LAYERS,
    LAYER_LABELS,
    RELU_AFTER,
    AlexNet,
    Normalize,
    alexnet_cifar,
    imagenet_alexnet,
)
from .classifiers import FeatureClassifier, cifar_cnn, cifar_snn, mnist_snn
from .autoencoder import (
    ConvAutoencoder,
    RateEncoder,
    RecurrentLIF,
    conv_ae,
    conv_sae,
    reconstruction_loss,
    reconstruction_nrmse,
)
from .conv import conv2d_loops
from .localiser import Localiser, class_accuracy, localisation_loss, localiser_ann, localiser_snn, mean_iou
from .events import TimeFirst, event_snn
from .resnet import BasicBlock, SpikingBlock, block_names, resnet_ann, resnet_snn, set_static_input
from .vqvae import VQVAE

__all__ = [
    "FeatureClassifier",
    "mnist_snn",
    "cifar_cnn",
    "cifar_snn",
    "resnet_ann",
    "resnet_snn",
    "block_names",
    "set_static_input",
    "BasicBlock",
    "SpikingBlock",
    "AlexNet",
    "Normalize",
    "alexnet_cifar",
    "imagenet_alexnet",
    "CONV_LAYERS",
    "LAYER_LABELS",
    "RELU_AFTER",
    "conv2d_loops",
    "VQVAE",
    "Localiser",
    "localiser_ann",
    "localiser_snn",
    "localisation_loss",
    "class_accuracy",
    "mean_iou",
    "ConvAutoencoder",
    "conv_sae",
    "conv_ae",
    "RateEncoder",
    "RecurrentLIF",
    "reconstruction_loss",
    "reconstruction_nrmse",
    "event_snn",
    "TimeFirst",
]
