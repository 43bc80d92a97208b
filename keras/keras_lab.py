"""The Keras side of the lab: the device and precision, the training batches and callbacks, saving.

The exercise scripts build their models (``keras.Sequential`` or a functional
``keras.Model``), ``compile`` and ``fit`` them in plain sight; this module
gives ``fit`` its batches (one in-memory normalised array, each epoch's order
from the seed and the epoch) and its callbacks (a line per epoch, the
checkpoints, TensorBoard), and saves and reloads the models. Augmentation is
the scripts' Keras preprocessing layers at the front of the model, active in
training only, drawing a different random transform for each image.

Keras runs one process on one device here. For several GPUs or machines, the
PyTorch scripts run under torchrun (README): Keras 3's tf.distribute support
needs private Keras functions for this lab's pipeline, which a lab must not patch.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from pathlib import Path

from common.entry import stop
from common.errors import UserError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the logs

# The scripts run Keras on TensorFlow only: their input pipeline is tf.data and the device checks are
# TensorFlow's. Keras reads KERAS_BACKEND once, at its first import (unset or
# empty: the "backend" of ~/.keras/keras.json, else tensorflow), so any other backend is refused here,
# in one line, before keras or tensorflow loads: Keras on torch would load torch and TensorFlow into one
# process (the mix that can segfault on Linux, tests/conftest.py), and jax, numpy or openvino end in
# a traceback.
KERAS_BACKEND = "tensorflow"
_backend = os.environ.get("KERAS_BACKEND", "").strip()
if _backend and _backend.lower() != KERAS_BACKEND:
    _why = ("Keras on torch would load torch beside TensorFlow, which can segfault; the PyTorch versions are "
            "in pytorch/" if _backend.lower() == "torch" else "tf.data and TensorFlow's devices")
    stop(f"KERAS_BACKEND={_backend}: the Keras scripts run on TensorFlow only ({_why}); "
         f"unset KERAS_BACKEND or set it to tensorflow")
os.environ["KERAS_BACKEND"] = KERAS_BACKEND  # also over a keras.json that names another backend

# TensorFlow uses its oneDNN CPU kernels by default only on CPUs with AVX512-VNNI/AMX-class features.
# Turned on here, they made training several times faster on this project's AMD EPYC CPUs (the
# README's Performance section). TF_ENABLE_ONEDNN_OPTS=0 in the environment turns them off. It must
# be set before TensorFlow loads.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# Notices TensorFlow's C++ code writes to stderr while it loads, before its log level applies; with
# oneDNN on, "oneDNN custom operations are on" twice. Everything else it writes then is passed on.
STARTUP_NOTICES = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on")


@contextlib.contextmanager
def startup_notices_filtered():
    """Hold back file descriptor 2 while TensorFlow loads; pass on every line but STARTUP_NOTICES."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if not any(notice in line for notice in STARTUP_NOTICES):
                    sys.stderr.write(line)
            sys.stderr.flush()


with startup_notices_filtered():
    import keras  # noqa: E402
    import tensorflow as tf  # noqa: E402
import numpy as np  # noqa: E402

from common import precision  # noqa: E402
from common.doctor import gpu_mismatch_warning  # noqa: E402
from common.progress import StepProgress  # noqa: E402

if keras.backend.backend() != KERAS_BACKEND:  # keras imported earlier in this process, on another backend
    stop(f"Keras runs on {keras.backend.backend()} in this process; the Keras scripts need tensorflow")


def setup(args) -> None:
    """The device (--device: Keras runs where TensorFlow sees one), the seeds, op determinism and the
    precision policy (--precision) of the models built from now on; refuses a device TensorFlow cannot see."""
    global DEVICE_TEXT
    gpus = tf.config.list_physical_devices("GPU")
    if args.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    elif args.device == "cuda" and not (gpus and tf.test.is_built_with_cuda()):
        raise UserError("--device cuda: TensorFlow sees no CUDA GPU (install tensorflow[and-cuda]: docs/install.md)")
    elif args.device == "mps" and not (gpus and sys.platform == "darwin"):
        raise UserError("--device mps: TensorFlow sees no Apple GPU (its tensorflow-metal plugin is unmaintained: the "
                        "Keras scripts run on the CPU of a Mac, the PyTorch ones on MPS; see docs/install.md)")
    on_gpu = bool(args.device != "cpu" and gpus)
    if args.device == "auto" and not gpus:  # an NVIDIA GPU TensorFlow cannot use: say why, in one line
        warning = gpu_mismatch_warning("keras", False, tf.sysconfig.get_build_info().get("cuda_version"))
        if warning:
            print(f"warning: {warning}", flush=True)
    keras.utils.set_random_seed(args.seed)
    if getattr(args, "deterministic", False):
        tf.config.experimental.enable_op_determinism()
    set_precision(getattr(args, "precision", "auto"), gpus if on_gpu else [])
    mixed = f"; {POLICIES[PRECISION]}" if PRECISION != "fp32" else ""
    if on_gpu:
        device = f"GPU ({', '.join(g.name for g in gpus)}), as TensorFlow sees it{mixed}"
    else:
        onednn = ", oneDNN" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1" else ""
        device = (f"CPU ({os.cpu_count()} cores{onednn}; TensorFlow sees "
                  f"{'no GPU' if not gpus else 'a GPU, hidden by --device cpu'}{mixed})")
    DEVICE_TEXT = device
    print(f"keras on {device}", flush=True)


DEVICE_TEXT = "CPU"  # the record's words for the device, as setup() chose it


def run_facts(model, architecture=None) -> dict:
    """What a model's record says about it and about this process (common.experiment.ModelRun);
    ``architecture``: the words for a model built by code (ex4), else read from its layers."""
    described, augmented = architecture or layer_words(model), augmentation(model)
    return {"architecture": described + (f" + augmentation ({augmented})" if augmented else ""),
            "augmentation": augmented, "trainable_params": trainable_params(model), "device": DEVICE_TEXT,
            "precision": PRECISION, "versions": versions(), "distributed": None, "is_main": True}


def list_models(models: dict, args) -> int:
    """--list: each model as the script builds it, with its trainable parameters and its report epochs."""
    print(f"{'model':<12} {'params':>11}  architecture")
    for name, make in models.items():
        facts = run_facts(make())
        print(f"{name:<12} {facts['trainable_params']:>11,}  {facts['architecture']}  "
              f"[{args.report_epochs[name]} epochs]")
    return 0


# --- precision ----------------------------------------------------------------

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
PRECISION = "fp32"  # what setup() chose for this run (common.precision)


def gpu_bf16(gpus) -> bool:
    """Whether the GPUs have bf16 tensor cores (CUDA compute capability 8.0, Ampere, or later)."""
    for gpu in gpus:
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if not capability or tuple(capability) < (8, 0):
            return False
    return bool(gpus)


def set_precision(requested: str, gpus) -> None:
    """Keras' global dtype policy for the models built from now on: mixed_bfloat16 / mixed_float16 compute
    the layers in 16 bits and keep the weights in float32 (compile adds loss scaling for float16)."""
    global PRECISION
    device_type = "gpu" if gpus else "cpu"
    PRECISION = precision.choose(requested, device_type, cpu_bf16=bool(precision.cpu_bf16_features()),
                                 cuda_bf16=bool(gpus) and gpu_bf16(gpus))
    keras.mixed_precision.set_global_policy(POLICIES[PRECISION])


def versions() -> dict:
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "keras_backend": keras.backend.backend()}


# --- models ---------------------------------------------------------------

def trainable_params(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


AUGMENTATION_LAYERS = (keras.layers.RandomFlip, keras.layers.RandomTranslation, keras.layers.RandomRotation,
                       keras.layers.RandomZoom)


def layer_words(model) -> str:
    """The architecture in the report's words, read from the built model: "Conv 32/3 - Flatten - Dense 10 softmax"."""
    L = keras.layers
    parts = []
    for layer in model.layers:
        if isinstance(layer, AUGMENTATION_LAYERS):
            continue  # described by augmentation()
        if isinstance(layer, L.Conv2D):
            stride = layer.strides[0]
            parts.append(f"Conv {layer.filters}/{layer.kernel_size[0]}" + (f"/s{stride}" if stride != 1 else ""))
        elif isinstance(layer, L.MaxPooling2D):
            parts.append(f"MaxPool {layer.pool_size[0]}/s{layer.strides[0]}")
        elif isinstance(layer, L.BatchNormalization):
            parts.append("BatchNorm")
        elif isinstance(layer, L.Dropout):
            parts.append(f"Dropout {layer.rate:g}")
        elif isinstance(layer, L.ReLU):
            parts.append("ReLU")
        elif isinstance(layer, L.Flatten):
            parts.append("Flatten")
        elif isinstance(layer, L.Dense):
            activation = layer.activation.__name__
            parts.append(f"Dense {layer.units}" + ("" if activation == "linear" else f" {activation}"))
        elif isinstance(layer, L.Softmax):
            parts.append("Softmax")
        else:
            parts.append(type(layer).__name__)
    return " - ".join(parts)


def augmentation(model):
    """The model's augmentation layers in the report's words ("flip, shift 0.1"), or None."""
    def upper(factor):  # a factor is x (meaning -x..x) or (lower, upper)
        return factor[1] if isinstance(factor, (tuple, list)) else factor

    found = {}
    for layer in model.layers:
        config = layer.get_config()  # public in every Keras 3 (older ones keep the factors private)
        if isinstance(layer, keras.layers.RandomFlip):
            found["flip"] = "flip"
        elif isinstance(layer, keras.layers.RandomTranslation):
            found["shift"] = f"shift {upper(config['height_factor']):g}"
        elif isinstance(layer, keras.layers.RandomRotation):
            found["rotation"] = f"rotation {upper(config['factor']) * 360:g} deg"  # a fraction of a turn
        elif isinstance(layer, keras.layers.RandomZoom):
            found["zoom"] = f"zoom {upper(config['height_factor']):g}"
    # The order PyTorch's RandomAffinePerImage names them in, whatever the order of the layers.
    parts = [found[key] for key in ("flip", "shift", "rotation", "zoom") if key in found]
    return ", ".join(parts) or None


@keras.saving.register_keras_serializable(package="lab")
class ImageNetPreprocess(keras.layers.Layer):
    """keras.applications.resnet50.preprocess_input ('caffe': RGB to BGR, minus the ImageNet channel means)
    of [0, 1] images. A registered layer, not a Lambda: a saved model loads in Keras' default safe mode."""

    def call(self, images):
        from keras.applications.resnet50 import preprocess_input
        return preprocess_input(images * 255.0)


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
        self.progress = StepProgress(epoch + 1, self.epochs, self.params["steps"])  # progress lines in a long epoch

    def on_train_batch_end(self, batch, logs=None):
        self.progress.step(batch + 1, (lambda: float(logs["loss"])) if logs and "loss" in logs else None)

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        print(f"epoch {epoch + 1:>3}/{self.epochs}  loss {logs['loss']:.4f}  acc {logs['accuracy']:.4f}"
              f"  | val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.4f}"
              f"  | {self.seconds[-1]:.1f} s", flush=True)


# Errors of Keras writes that failed, kept for the life of the process: h5py, after a failed write (a full
# disk), prints errors when the objects of that write are freed and crashes in the interpreter's teardown,
# which common.entry.exit_process skips.
FAILED_WRITES = []


@contextlib.contextmanager
def failed_writes_kept():
    """Around a Keras write (h5py underneath): if it fails, its error (and, through its traceback, h5py's
    objects) stays alive; the error goes on to the caller, which says it in one line."""
    try:
        yield
    except Exception as exc:
        FAILED_WRITES.append(exc)
        raise


def save_state(model, folder) -> None:
    # One file: the weights, the layers' random-generator states and, the optimizer being built by then,
    # Adam's moments and step count.
    with failed_writes_kept():
        model.save_weights(folder / "model.weights.h5")


def state_bytes(model) -> int:
    """The bytes of the weights and the optimizer's variables: about what save_state writes."""
    variables = [*model.weights, *(model.optimizer.variables if model.optimizer.built else [])]
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


def load_state(model, folder) -> None:
    # An optimizer not yet built has no moments to load into: Keras would skip them with a warning and
    # the run would go on with Adam started afresh.
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    with warnings.catch_warnings():  # a state that does not fit is refused, not skipped with a warning
        warnings.filterwarnings("error", message="Skipping variable loading")
        model.load_weights(folder / "model.weights.h5")


def shuffled_batches(x, y, args, first_epoch: int, epochs: int):
    """The training batches of epochs ``first_epoch`` .. ``epochs - 1`` (counted from 0, as ``fit`` does),
    normalised, epoch e in the order ``permutation(seed, e)``: a resumed run sees the same batches as an
    uninterrupted one.

    A tf.data pipeline rather than arrays given to ``fit(x, y, shuffle=True)``: its order follows the seed
    and the epoch alone, and destroying the iterator ``fit`` builds from arrays blocked for seconds after
    every ``fit`` (a tf.data thread pool waiting on its threads).
    """
    orders = np.stack([np.random.default_rng([args.seed, epoch]).permutation(len(x))
                       for epoch in range(first_epoch, epochs)])
    images, labels = tf.constant(normalise(x)), tf.constant(y)
    batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(args.batch_size))
    batches = batches.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)), num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def batches(x, y, batch_size: int):
    """Normalised batches in order, for validation (a pipeline for the same reason as shuffled_batches)."""
    return tf.data.Dataset.from_tensor_slices((normalise(x), y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def resume(model, checkpoint) -> dict:
    """The history of the epochs ``checkpoint`` holds, their weights and Adam's state loaded into ``model``
    (--resume); empty lists when there is none. ``fit`` then starts at ``initial_epoch=len(history["loss"])``."""
    resumed = checkpoint.load(lambda folder: load_state(model, folder))
    return resumed[1] if resumed else {key: [] for key in (*METRICS, "seconds")}


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: its metrics into the history, then a checkpoint (never of a diverged epoch)."""

    def __init__(self, history: dict, line: EpochLine, checkpoint):
        super().__init__()
        self.history, self.line, self.checkpoint = history, line, checkpoint

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key in METRICS:
            self.history[key].append(float(logs[key]) if key in logs else float("nan"))
        self.history["seconds"].append(self.line.seconds[-1])  # callbacks() lists `line` first: this epoch's time
        if not np.isfinite([self.history[key][-1] for key in METRICS]).all():
            self.model.stop_training = True  # ModelRun.write reports the divergence and writes nothing
        elif self.checkpoint:
            self.checkpoint.save(epoch + 1, self.history, lambda folder: save_state(self.model, folder),
                                 size=state_bytes(self.model))


def callbacks(history: dict, run) -> list:
    """``fit``'s callbacks for a model's run (common.experiment.ModelRun): a line per epoch, the history and a
    checkpoint after each epoch, a stop on NaN, and TensorBoard's per-epoch event files with --tensorboard."""
    line = EpochLine(run.epochs)
    chosen = [line, EpochEnd(history, line, run.checkpoint), keras.callbacks.TerminateOnNaN()]
    if run.tensorboard is not None:
        # Per epoch (train/ and validation/ runs), no graph and no profiling: small files, no slowdown.
        chosen.append(keras.callbacks.TensorBoard(str(run.tensorboard), write_graph=False, profile_batch=0))
    return chosen


def save_model(model, path) -> None:
    """The trained model in Keras' own format (layers, weights, dtype policies): ``keras.saving.load_model(path)``
    loads it in its default safe mode (no Lambda layers: ex4's preprocessing is a registered layer).

    ``path`` is the temporary name common.atomic renames into place with the run's other outputs; Keras
    saves only to a name ending in .keras, so it saves beside it under one and renames."""
    keras_name = Path(f"{path}.keras")
    try:
        with failed_writes_kept():  # a failed h5py write stays one line (see failed_writes_kept)
            model.save(keras_name)
        os.replace(keras_name, path)
    finally:
        keras_name.unlink(missing_ok=True)


def load_model(path, make):
    """A saved model, checked against the architecture the script builds (``make``), or one line saying why not."""
    try:
        model = keras.saving.load_model(path)
    except Exception as exc:  # not a zip, not a Keras file, a PyTorch file, an unknown layer...
        raise UserError(f"{path}: not a Keras model file keras.saving.load_model can read "
                        f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from None
    expected = make()
    if layer_words(model) != layer_words(expected) or trainable_params(model) != trainable_params(expected):
        raise UserError(f"{path}: a model of another architecture ({layer_words(model)}, {trainable_params(model):,} "
                        f"parameters; expected {layer_words(expected)}, {trainable_params(expected):,})")
    return model


def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    return np.asarray(model.predict(normalise(images), batch_size=max(batch_size, 512), verbose=0), dtype=np.float64)


# --- figures --------------------------------------------------------------

def augment_examples(make, images_uint8_nhwc: np.ndarray, seed: int) -> np.ndarray:
    """A few uint8 (N, H, W, C) images through the augmentation layers of the model ``make`` builds, as uint8.

    The script's own layers, called with training=True; each image gets its
    own random transform. Seeds Keras' global generators (called after
    training, so no run is affected).
    """
    keras.utils.set_random_seed(seed)
    augment = keras.Sequential([layer for layer in make().layers if isinstance(layer, AUGMENTATION_LAYERS)])
    out = augment(images_uint8_nhwc.astype(np.float32), training=True)
    return np.clip(np.rint(keras.ops.convert_to_numpy(out)), 0, 255).astype(np.uint8)
