"""Keras half of the shared flow: device, model builder, the training loop.

Keras is used plainly: a Sequential model, ``compile`` and ``fit`` on one
in-memory normalised array. Augmentation is a stack of Keras preprocessing
layers at the front of the model, active in training only, drawing a
different random transform for each image.
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the logs
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common.architectures import (BatchNorm, Conv, Dense, Dropout, Flatten, MaxPool, ReLU,  # noqa: E402
                                  Softmax)
from common.errors import UserError  # noqa: E402


def setup(args) -> str:
    """Keras runs where TensorFlow sees a device; say which, and refuse what it cannot see."""
    gpus = tf.config.list_physical_devices("GPU")
    if args.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    elif args.device == "cuda" and not (gpus and tf.test.is_built_with_cuda()):
        raise UserError("--device cuda: TensorFlow sees no CUDA GPU (install tensorflow[and-cuda]; see README)")
    elif args.device == "mps" and not (gpus and sys.platform == "darwin"):
        raise UserError("--device mps: TensorFlow sees no Apple GPU (install tensorflow-metal; see README)")
    keras.utils.set_random_seed(args.seed)
    if getattr(args, "deterministic", False):
        tf.config.experimental.enable_op_determinism()
    if args.device != "cpu" and gpus:
        return f"GPU ({', '.join(g.name for g in gpus)}), as TensorFlow sees it"
    return f"CPU ({os.cpu_count()} cores; TensorFlow sees {'no GPU' if not gpus else 'a GPU, hidden by --device cpu'})"


def versions() -> dict:
    return {"tensorflow": tf.__version__, "keras": keras.__version__}


# --- models ---------------------------------------------------------------

def augmentation_layers(aug) -> list:
    """The report's ImageDataGenerator settings as preprocessing layers (fill 'nearest', its default)."""
    if aug.scale or aug.shear:
        raise ValueError("scale/shear augmentation is PyTorch-only in this repository")
    layers = []
    if aug.rotation:
        layers.append(keras.layers.RandomRotation(aug.rotation / 360, fill_mode="nearest"))
    if aug.shift:
        layers.append(keras.layers.RandomTranslation(aug.shift, aug.shift, fill_mode="nearest"))
    if aug.zoom:
        layers.append(keras.layers.RandomZoom(aug.zoom, fill_mode="nearest"))
    if aug.horizontal_flip:
        layers.append(keras.layers.RandomFlip("horizontal"))
    return layers


def from_layers(layers) -> list:
    out = []
    for layer in layers:
        if isinstance(layer, Conv):
            out.append(keras.layers.Conv2D(layer.filters, layer.kernel, strides=layer.stride, padding="valid"))
        elif isinstance(layer, MaxPool):
            out.append(keras.layers.MaxPooling2D(layer.size, strides=layer.stride, padding="valid"))
        elif isinstance(layer, BatchNorm):
            out.append(keras.layers.BatchNormalization())
        elif isinstance(layer, Dropout):
            out.append(keras.layers.Dropout(layer.rate))
        elif isinstance(layer, ReLU):
            out.append(keras.layers.ReLU())
        elif isinstance(layer, Flatten):
            out.append(keras.layers.Flatten())
        elif isinstance(layer, Dense):
            out.append(keras.layers.Dense(layer.units, activation=layer.activation))
        elif isinstance(layer, Softmax):
            out.append(keras.layers.Softmax())
        else:
            raise TypeError(f"unknown layer {layer!r}")
    return out


def build(model_def, input_shape, n_classes, args) -> keras.Model:
    if model_def.build is not None:
        model = model_def.build(input_shape, n_classes, args)
    else:
        augment = augmentation_layers(model_def.augment) if model_def.augment else []
        model = keras.Sequential([keras.Input(input_shape), *augment, *from_layers(model_def.layers)])
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def trainable_params(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


# --- training -------------------------------------------------------------

def normalise(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


class EpochLine(keras.callbacks.Callback):
    """One progress line per epoch, in the same format as the PyTorch loop, and the epoch's seconds."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs, self.seconds = epochs, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        print(f"epoch {epoch + 1:>3}/{self.epochs}  loss {logs['loss']:.4f}  acc {logs['accuracy']:.4f}"
              f"  | val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.4f}"
              f"  | {self.seconds[-1]:.1f} s", flush=True)


def save_state(model, folder) -> None:
    model.save_weights(folder / "model.weights.h5")  # includes the layers' random-generator states
    np.savez(folder / "optimizer.npz", *[v.numpy() for v in model.optimizer.variables])


def load_state(model, folder) -> None:
    model.load_weights(folder / "model.weights.h5")
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    with np.load(folder / "optimizer.npz") as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if len(values) != len(optimizer.variables):
        raise ValueError(f"optimizer state has {len(values)} arrays, the model needs {len(optimizer.variables)}")
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)


def train(model, model_def, split, epochs, args, checkpoint=None) -> dict:
    x, y = normalise(split.x_train), split.y_train
    validation = (normalise(split.x_val), split.y_val)
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    history = {key: [] for key in (*keys, "seconds")}
    resumed = checkpoint.load(lambda folder: load_state(model, folder)) if checkpoint else None
    if resumed:
        done, history, _ = resumed
    resumed_seconds = sum(history["seconds"])
    line = EpochLine(epochs)
    for epoch in range(len(history["loss"]), epochs):
        # Shuffled here, from (seed, epoch), rather than by fit: a resumed run sees the same batches.
        order = np.random.default_rng([args.seed, epoch]).permutation(len(x))
        fit = model.fit(x[order], y[order], batch_size=args.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                        validation_data=validation, shuffle=False, verbose=0,
                        callbacks=[line, keras.callbacks.TerminateOnNaN()])
        for key in keys:
            history[key].append(float(fit.history[key][-1]) if fit.history.get(key) else float("nan"))
        history["seconds"].append(line.seconds[-1])
        if not np.isfinite(history["loss"][-1]):
            break  # the flow reports the divergence and writes nothing
        if checkpoint:
            checkpoint.save(epoch + 1, history, lambda folder: save_state(model, folder))
    return {**history, "resumed_seconds": resumed_seconds}


def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(normalise(images), batch_size=max(batch_size, 512), verbose=0), dtype=np.float64)


# --- figures --------------------------------------------------------------

def augment_examples(augmentation, images_uint8_nhwc: np.ndarray, seed: int) -> np.ndarray:
    """A few uint8 (N, H, W, C) images through the training-time augmentation layers, as uint8.

    The same layers as ``build`` puts in front of the model, called with
    training=True; each image gets its own random transform. Seeds Keras'
    global generators (called after training, so no run is affected).
    """
    keras.utils.set_random_seed(seed)
    augment = keras.Sequential(augmentation_layers(augmentation))
    out = augment(images_uint8_nhwc.astype(np.float32), training=True)
    return np.clip(np.rint(keras.ops.convert_to_numpy(out)), 0, 255).astype(np.uint8)
