"""Keras half of the shared flow: the device, compile and fit, predictions.

The exercise scripts build their models (``keras.Sequential`` or a
functional ``keras.Model``); this module compiles them and trains them with
one ``fit`` over a tf.data pipeline of batches gathered from one in-memory
normalised array, with callbacks for the progress lines and the checkpoints.
Augmentation is the scripts' Keras preprocessing layers at the front of the
model, active in training only, drawing a different random transform for
each image.

``--strategy mirrored|multiworker`` builds and compiles the model inside a
tf.distribute strategy's scope; ``fit`` then splits each batch (``--batch-size``
stays the global batch) over the replicas and its metrics are already the
global ones. With several workers, only the chief prints and writes.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

from common.errors import UserError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the logs

# The scripts run Keras on TensorFlow only: their input pipeline is tf.data, --strategy is tf.distribute
# and the device checks are TensorFlow's. Keras reads KERAS_BACKEND once, at its first import (unset or
# empty: the "backend" of ~/.keras/keras.json, else tensorflow), so any other backend is refused here,
# in one line, before keras or tensorflow loads: Keras on torch would load torch and TensorFlow into one
# process (the mix that can segfault on Linux, tests/conftest.py), and jax, numpy or openvino end in
# a traceback.
KERAS_BACKEND = "tensorflow"
_backend = os.environ.get("KERAS_BACKEND", "").strip()
if _backend and _backend.lower() != KERAS_BACKEND:
    _why = ("Keras on torch would load torch beside TensorFlow, which can segfault; the PyTorch versions are "
            "in pytorch/" if _backend.lower() == "torch" else "tf.data, tf.distribute, TensorFlow's devices")
    raise UserError(f"KERAS_BACKEND={_backend}: the Keras scripts run on TensorFlow only ({_why}); "
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
from common.progress import StepProgress  # noqa: E402

if keras.backend.backend() != KERAS_BACKEND:  # keras imported earlier in this process, on another backend
    raise UserError(f"Keras runs on {keras.backend.backend()} in this process; the Keras scripts need tensorflow")


CPU_REPLICAS = 2  # --strategy mirrored without a GPU: the CPU split into this many logical devices
STRATEGY_CLASSES = {"mirrored": "MirroredStrategy", "multiworker": "MultiWorkerMirroredStrategy"}
STRATEGY = None   # the tf.distribute strategy of --strategy mirrored|multiworker; None: Keras' default
DISTRIBUTED = None  # what the record says about it


def setup(args) -> str:
    """Keras runs where TensorFlow sees a device; say which, and refuse what it cannot see."""
    strategy = getattr(args, "strategy", "default")
    if strategy == "multiworker":
        check_tf_config(os.environ.get("TF_CONFIG"))  # before anything starts: a bad one fails in one line
    gpus = tf.config.list_physical_devices("GPU")
    if args.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    elif args.device == "cuda" and not (gpus and tf.test.is_built_with_cuda()):
        raise UserError("--device cuda: TensorFlow sees no CUDA GPU (install tensorflow[and-cuda]; see README)")
    elif args.device == "mps" and not (gpus and sys.platform == "darwin"):
        raise UserError("--device mps: TensorFlow sees no Apple GPU (its tensorflow-metal plugin is unmaintained: the "
                        "Keras scripts run on the CPU of a Mac, the PyTorch ones on MPS; see README, Other machines)")
    on_gpu = bool(args.device != "cpu" and gpus)
    if strategy != "default":
        # Before any other TensorFlow work: devices are fixed once TensorFlow initialises them.
        make_strategy(strategy, on_gpu, args.batch_size)
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
    if DISTRIBUTED:
        device += f"; {DISTRIBUTED['class']}, {DISTRIBUTED['replicas']} replicas"
    return device


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


def run_precision() -> str:
    return PRECISION


# --- several devices and machines (tf.distribute) --------------------------

def check_tf_config(text) -> dict:
    """TF_CONFIG as MultiWorkerMirroredStrategy reads it, or one line saying what is wrong."""
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\' (see README)')
    if not text:
        raise UserError(f"--strategy multiworker needs TF_CONFIG, the cluster and this worker's place in it: {example}")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        members = cluster[task["type"]]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"TF_CONFIG does not describe a cluster and a task ({type(exc).__name__}: {exc}): "
                        f"{example}") from None
    if not 0 <= index < len(members):
        raise UserError(f"TF_CONFIG: task {task['type']} {index} is not in the cluster's "
                        f"{len(members)} {task['type']}(s)")
    return config


def is_chief(task_type, task_id, cluster: dict) -> bool:
    """The worker that writes (Keras' rule): the chief, else worker 0 of a cluster without one."""
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0 and "chief" not in cluster)


def make_strategy(name: str, on_gpu: bool, batch_size: int) -> None:
    global STRATEGY, DISTRIBUTED
    if name == "mirrored":
        if on_gpu:
            STRATEGY = tf.distribute.MirroredStrategy()  # every visible GPU
        else:
            cpu = tf.config.list_physical_devices("CPU")[0]
            try:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * CPU_REPLICAS)
            except RuntimeError:  # TensorFlow already initialised its devices in this process
                if len(tf.config.list_logical_devices("CPU")) < CPU_REPLICAS:
                    raise UserError("--strategy mirrored: TensorFlow's devices were set up before the CPU could be "
                                    "split into logical devices (run the script in a fresh process)") from None
            STRATEGY = tf.distribute.MirroredStrategy(
                devices=[d.name for d in tf.config.list_logical_devices("CPU")[:CPU_REPLICAS]])
    else:
        STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()
        mean_logs_over_workers()
    replicas = STRATEGY.num_replicas_in_sync
    if batch_size < replicas:
        raise UserError(f"--batch-size {batch_size} is the global batch, split over {replicas} replicas: "
                        f"give at least {replicas}")
    DISTRIBUTED = {"strategy": name, "class": STRATEGY_CLASSES[name], "replicas": replicas,
                   "worker_devices": [str(d) for d in STRATEGY.extended.worker_devices],
                   "global_batch_size": batch_size, "per_replica_batch_size": -(-batch_size // replicas),
                   "batches": "--batch-size is the global batch: fit splits each batch over the replicas"}
    if name == "multiworker":
        resolver = STRATEGY.cluster_resolver
        cluster = resolver.cluster_spec().as_dict()
        DISTRIBUTED["workers"] = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
        if not is_main():  # one voice: the chief prints the progress (errors still reach stderr)
            sys.stdout = open(os.devnull, "w")


def is_main() -> bool:
    """Whether this process writes the outputs: always, but for the non-chief workers of --strategy multiworker."""
    if not isinstance(STRATEGY, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = STRATEGY.cluster_resolver
    return is_chief(resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict())


def barrier() -> None:
    """Nothing to wait for: the workers' last collective is predict, and the chief writes alone."""


def finish() -> None:
    pass


def distribution():
    return DISTRIBUTED


def scope():
    """The strategy's scope (variables made in it are mirrored), or nothing at all by default."""
    return STRATEGY.scope() if STRATEGY is not None else contextlib.nullcontext()


# Two gaps of Keras 3's tf.distribute support, bridged only when a strategy is used (and only if this
# Keras still has the private functions involved; a Keras without them goes its own way).

def build_from_local_batch(model, x, y) -> None:
    """fit and evaluate first *reduce* a distributed batch over the replicas, only to read its shapes
    (``_maybe_symbolic_build``): that fails when a batch splits unevenly (99 images over 2 replicas) and
    always under MultiWorkerMirroredStrategy. Any batch has those shapes:
    build from this process's first image instead."""
    if not (hasattr(model, "_maybe_symbolic_build") and hasattr(model, "_symbolic_build")):
        return
    sample = (x[:1], y[:1], None)

    def symbolic_build(iterator=None, data_batch=None):
        with STRATEGY.scope():
            model._symbolic_build(data_batch=sample)

    model._maybe_symbolic_build = symbolic_build


def mean_logs_over_workers() -> None:
    """Under MultiWorkerMirroredStrategy Keras 3 averages each step's logs over the replicas with
    ``reduce("MEAN", value, axis=0)``, which fails on the scalar logs:
    average them with axis=None, as for one worker."""
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        return
    original = getattr(trainer, "reduce_per_replica", None)
    if original is None or getattr(original, "bridged", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.bridged = True
    trainer.reduce_per_replica = reduce_per_replica


def versions() -> dict:
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "keras_backend": keras.backend.backend()}


# --- models ---------------------------------------------------------------

def build(make, args) -> keras.Model:
    """The script's model, compiled: Adam and the cross-entropy of the probabilities its softmax gives."""
    with scope():  # under a strategy: the weights and the optimiser's state mirrored on every replica
        model = make()
        if PRECISION != "fp32":  # the output layer's softmax, and so the loss, in float32
            model.layers[-1].dtype_policy = "float32"
        model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def trainable_params(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


AUGMENTATION_LAYERS = (keras.layers.RandomFlip, keras.layers.RandomTranslation, keras.layers.RandomRotation,
                       keras.layers.RandomZoom)


def describe(model) -> str:
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


def augmentation(model, augment=None):
    """The model's augmentation layers in the report's words ("flip, shift 0.1"), or None.

    ``augment`` is PyTorch's separate transform: a Keras model holds its own augmentation."""
    def upper(factor):  # a factor is x (meaning -x..x) or (lower, upper)
        return factor[1] if isinstance(factor, (tuple, list)) else factor

    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.RandomFlip):
            found["flip"] = "flip"
        elif isinstance(layer, keras.layers.RandomTranslation):
            found["shift"] = f"shift {upper(layer.height_factor):g}"
        elif isinstance(layer, keras.layers.RandomRotation):
            found["rotation"] = f"rotation {upper(layer.factor) * 360:g} deg"  # a fraction of a turn
        elif isinstance(layer, keras.layers.RandomZoom):
            found["zoom"] = f"zoom {upper(layer.height_factor):g}"
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

    def __init__(self, epochs, steps):
        super().__init__()
        self.epochs, self.steps, self.seconds = epochs, steps, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.progress = StepProgress(epoch + 1, self.epochs, self.steps)  # a line every 30 s in a long epoch

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
        with scope():
            model.optimizer.build(model.trainable_variables)
    with warnings.catch_warnings():  # a state that does not fit is refused, not skipped with a warning
        warnings.filterwarnings("error", message="Skipping variable loading")
        model.load_weights(folder / "model.weights.h5")


def epoch_batches(x, y, seed: int, epochs: range, batch_size: int):
    """The training batches of ``epochs``, epoch e in the order ``permutation(seed, e)``: a resumed run sees
    the same batches as an uninterrupted one.

    A tf.data pipeline of our own rather than arrays given to ``fit``: with arrays, destroying the iterator
    ``fit`` builds from them blocked for 6-33 s after every ``fit`` (ex2 model6, TensorFlow 2.21: a tf.data
    thread pool waiting on its threads), which was most of the time a Keras run spent outside its epochs.
    """
    orders = np.stack([np.random.default_rng([seed, epoch]).permutation(len(x)) for epoch in epochs])
    images, labels = tf.constant(x), tf.constant(y)
    batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    batches = batches.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)), num_parallel_calls=tf.data.AUTOTUNE)
    return sharded_by_batch(batches).prefetch(tf.data.AUTOTUNE)


def in_batches(x, y, batch_size: int):
    """Validation batches in order (a pipeline for the same reason as epoch_batches)."""
    return sharded_by_batch(tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)).prefetch(tf.data.AUTOTUNE)


def sharded_by_batch(dataset):
    """Several workers take turns at whole batches, as Keras does with arrays."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: its metrics into the history, then a checkpoint (never of a diverged epoch)."""

    def __init__(self, history: dict, line: EpochLine, checkpoint):
        super().__init__()
        self.history, self.line, self.checkpoint = history, line, checkpoint

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key in METRICS:
            self.history[key].append(float(logs[key]) if key in logs else float("nan"))
        self.history["seconds"].append(self.line.seconds[-1])  # train() lists `line` first: this epoch's time
        if not np.isfinite([self.history[key][-1] for key in METRICS]).all():
            self.model.stop_training = True  # the flow reports the divergence and writes nothing
        elif self.checkpoint and is_main():  # the chief saves; the other workers read it on --resume
            self.checkpoint.save(epoch + 1, self.history, lambda folder: save_state(self.model, folder),
                                 size=state_bytes(self.model))


METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def train(model, split, epochs, args, checkpoint=None, augment=None, tensorboard=None) -> dict:
    """fit over the epochs not yet done; ``augment`` is PyTorch's (Keras' augmentation is in the model);
    ``tensorboard``: a folder for keras.callbacks.TensorBoard's per-epoch event files."""
    x, y = normalise(split.x_train), split.y_train
    history = {key: [] for key in (*METRICS, "seconds")}
    if isinstance(STRATEGY, tf.distribute.MultiWorkerMirroredStrategy) and checkpoint:
        # Every worker reads the checkpoint (with several machines, --out must be one shared folder);
        # loading it is a collective operation, so the workers first agree on where they start.
        found = []
        resumed = checkpoint.load(found.append)
        check_same_start(resumed[0] if resumed else 0)
        if resumed:
            try:
                load_state(model, found[0])
            except Exception as exc:  # as Checkpoint.load says it
                raise UserError(f"checkpoint {found[0]} does not load ({type(exc).__name__}: {exc}); "
                                f"delete it or run without --resume") from None
    else:
        resumed = checkpoint.load(lambda folder: load_state(model, folder)) if checkpoint else None
    if resumed:
        _, history, _ = resumed
    resumed_seconds = sum(history["seconds"])
    first = len(history["loss"])
    if first < epochs:
        if STRATEGY is not None:
            build_from_local_batch(model, x, y)
        steps = -(-len(x) // args.batch_size)
        line = EpochLine(epochs, steps)
        callbacks = [line, EpochEnd(history, line, checkpoint), keras.callbacks.TerminateOnNaN()]
        if tensorboard is not None and is_main():
            # Per epoch (train/ and validation/ runs), no graph and no profiling: small files, no slowdown.
            callbacks.append(keras.callbacks.TensorBoard(str(tensorboard), write_graph=False, profile_batch=0))
        model.fit(epoch_batches(x, y, args.seed, range(first, epochs), args.batch_size),
                  epochs=epochs, initial_epoch=first, steps_per_epoch=steps, shuffle=False,  # epoch_batches shuffles
                  validation_data=in_batches(normalise(split.x_val), split.y_val, args.batch_size), verbose=0,
                  callbacks=callbacks)
    return {**history, "resumed_seconds": resumed_seconds}


def check_same_start(epoch: int) -> None:
    """Refuse, on every worker, a resume that some workers would start from another epoch."""
    if not isinstance(STRATEGY, tf.distribute.MultiWorkerMirroredStrategy):
        return
    # Summed over the replicas, (1, e, e^2) give n, sum(e), sum(e^2): all equal exactly when n sum(e^2) = sum(e)^2.
    values = tf.constant([1.0, epoch, epoch * epoch], tf.float64)
    n, total, squares = STRATEGY.reduce("SUM", STRATEGY.run(tf.function(lambda: tf.identity(values))),
                                        axis=None).numpy().tolist()
    if abs(n * squares - total * total) > 0.5:
        raise UserError("the workers found different checkpoints under --out: with several machines --out must "
                        "be a shared folder, or hold a copy of the chief's checkpoints/ on every machine")


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
    if describe(model) != describe(expected) or trainable_params(model) != trainable_params(expected):
        raise UserError(f"{path}: a model of another architecture ({describe(model)}, {trainable_params(model):,} "
                        f"parameters; expected {describe(expected)}, {trainable_params(expected):,})")
    return model


def prepare_inference(model, args) -> None:
    """Nothing to do: a saved Keras model holds its layers' dtype policies."""


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
