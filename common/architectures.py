"""Framework-free description of the report's models.

Each exercise script declares its models as lists of these layers, in the
report's order. Both frameworks build their networks from the same list, and
the trainable-parameter count is computed here by shape arithmetic, so
``--list`` answers without importing TensorFlow or torch and tests can check
each framework against the same number.

A layer the report does not list is not added: where the report lists no
activation there is none (the report's model1 is therefore a linear
classifier, which its ~92% on MNIST confirms).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence


@dataclass(frozen=True)
class Conv:
    """Conv2D: filters, kernel size, stride, 'valid' padding, no activation."""
    filters: int
    kernel: int
    stride: int = 1

    def __str__(self):
        return f"Conv {self.filters}/{self.kernel}" + (f"/s{self.stride}" if self.stride != 1 else "")


@dataclass(frozen=True)
class MaxPool:
    size: int
    stride: int

    def __str__(self):
        return f"MaxPool {self.size}/s{self.stride}"


@dataclass(frozen=True)
class BatchNorm:
    def __str__(self):
        return "BatchNorm"


@dataclass(frozen=True)
class Dropout:
    rate: float

    def __str__(self):
        return f"Dropout {self.rate:g}"


@dataclass(frozen=True)
class ReLU:
    def __str__(self):
        return "ReLU"


@dataclass(frozen=True)
class Flatten:
    def __str__(self):
        return "Flatten"


@dataclass(frozen=True)
class Dense:
    """Fully connected layer. activation: None, 'relu' or 'softmax'.

    'softmax' on the output layer is applied by Keras inside the model; in
    PyTorch it is folded into CrossEntropyLoss (which takes logits), as the
    report's PyTorch half writes it: "Dense: 10 ('softmax')".
    """
    units: int
    activation: Optional[str] = None

    def __str__(self):
        return f"Dense {self.units}" + (f" {self.activation}" if self.activation else "")


@dataclass(frozen=True)
class Softmax:
    """An explicit softmax layer *before* the loss: the report's PyTorch
    "Nota Bene" mistake (old_model1), kept to show its effect."""
    def __str__(self):
        return "Softmax"


Layer = object  # any of the dataclasses above


# --- augmentation, described once and mapped by each framework -------------

@dataclass(frozen=True)
class Augmentation:
    """Random transforms applied to training batches only, per image.

    Angles are in degrees; shifts and zoom are fractions of the image size;
    ``scale`` is the (min, max) scale factor of torchvision's RandomAffine.
    """
    horizontal_flip: bool = False
    shift: float = 0.0
    rotation: float = 0.0
    zoom: float = 0.0
    scale: Optional[tuple] = None
    shear: float = 0.0

    def __str__(self):
        parts = []
        if self.horizontal_flip:
            parts.append("flip")
        if self.shift:
            parts.append(f"shift {self.shift:g}")
        if self.rotation:
            parts.append(f"rotation {self.rotation:g} deg")
        if self.zoom:
            parts.append(f"zoom {self.zoom:g}")
        if self.scale:
            parts.append(f"scale {self.scale[0]:g}-{self.scale[1]:g}")
        if self.shear:
            parts.append(f"shear {self.shear:g} deg")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class ModelDef:
    """One entry of an exercise's model registry.

    Either ``layers`` (built by the framework's generic builder) or ``build``
    (a callable that imports its framework lazily, e.g. ResNet50) is given.
    ``epochs`` overrides the exercise default where the report trained longer
    (model10, PraisyNetDA: 100 epochs). ``params`` is the trainable-parameter
    count for models not described by ``layers``.
    """
    layers: Sequence[Layer] = ()
    augment: Optional[Augmentation] = None
    epochs: Optional[int] = None
    note: str = ""
    build: Optional[Callable] = None
    params: Optional[int] = None
    summary_text: str = ""

    def summary(self) -> str:
        text = self.summary_text or " - ".join(str(layer) for layer in self.layers)
        if self.augment:
            text += f" + augmentation ({self.augment})"
        return text


# --- shape arithmetic ---------------------------------------------------------

def _conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


def output_shapes(layers: Sequence[Layer], input_shape: tuple) -> list:
    """Shapes (H, W, C) or (N,) after each layer, for channels-last input."""
    shape = tuple(input_shape)
    shapes = []
    for layer in layers:
        if isinstance(layer, Conv):
            h, w, _ = shape
            shape = (_conv_out(h, layer.kernel, layer.stride), _conv_out(w, layer.kernel, layer.stride), layer.filters)
        elif isinstance(layer, MaxPool):
            h, w, c = shape
            shape = (_conv_out(h, layer.size, layer.stride), _conv_out(w, layer.size, layer.stride), c)
        elif isinstance(layer, Flatten):
            n = 1
            for d in shape:
                n *= d
            shape = (n,)
        elif isinstance(layer, Dense):
            shape = (layer.units,)
        if min(shape) <= 0:
            raise ValueError(f"{layer} leaves no output for input {input_shape}")
        shapes.append(shape)
    return shapes


def trainable_params(layers: Sequence[Layer], input_shape: tuple) -> int:
    """Trainable parameters as Keras and PyTorch count them (BatchNorm: 2 per channel)."""
    total = 0
    shape = tuple(input_shape)
    for layer, out in zip(layers, output_shapes(layers, input_shape)):
        if isinstance(layer, Conv):
            total += (layer.kernel * layer.kernel * shape[-1] + 1) * layer.filters
        elif isinstance(layer, Dense):
            total += (shape[0] + 1) * layer.units
        elif isinstance(layer, BatchNorm):
            total += 2 * shape[-1]
        shape = out
    return total


def multiply_adds(layers: Sequence[Layer], input_shape: tuple) -> int:
    """Multiply-adds of one forward pass for one image (convolutions and dense layers)."""
    total = 0
    shape = tuple(input_shape)
    for layer, out in zip(layers, output_shapes(layers, input_shape)):
        if isinstance(layer, Conv):
            total += out[0] * out[1] * out[2] * layer.kernel * layer.kernel * shape[-1]
        elif isinstance(layer, Dense):
            total += shape[0] * layer.units
        shape = out
    return total


def model_params(model: ModelDef, input_shape: tuple) -> int:
    return model.params if model.params is not None else trainable_params(model.layers, input_shape)
