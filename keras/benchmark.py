"""Training throughput of the exercises' models against this machine's limit (Keras).

    python keras/benchmark.py                                    # every layered model, 10 s each, and the extras
    python keras/benchmark.py --models ex1/model3 ex3/model8 --seconds 5
    python keras/benchmark.py --list                             # the models and their multiply-adds
    python -m common.benchmark_table                             # docs/performance.md's tables from the record

Per model, the training loop of keras/keras_lab.py (``model.fit`` on its
tf.data pipeline over the normalised in-memory array, batch size
--batch-size, shuffled) runs for a warm-up (tracing the train function) and
then --seconds; a callback reads the clock at the end of every step, so the
step time includes everything fit does between two steps. Reported:

- samples/s, and GFLOP/s = 6 x multiply-adds per image x samples/s (counted
  from the built model (torch: FlopCounterMode; Keras: its Conv2D and Dense layers); 2 FLOPs per
  multiply-add, forward plus backward = 3 forward passes);
- the share of the machine's fp32 peak, measured in this process: the
  fastest tf.linalg.matmul of two --peak-size square matrices (5 at start, 3 before
  each model, 5 at the end). On a shared machine the peak seen just before
  a model varies with the other jobs; the best of all is the machine's, so
  every share is of the same, most favourable, number (a lower bound);
- the input pipeline's share: the batches of the very tf.data pipeline the
  training loop gives fit (keras_lab.shuffled_batches: a permuted index per
  epoch, tf.gather per batch, prefetched), pulled alone, per batch, over the
  step time. fit runs that pipeline on background threads, overlapped with
  the step: the share is its cost, on cores the step would otherwise use;
- for augmented models, the augmentation's share: the model's preprocessing
  layers (keras_lab.AUGMENTATION_LAYERS) run alone on a batch, in training
  mode, inside a tf.function as in fit, over the step time.

--eval-figures (on by default when --models is not given): probabilities for
MNIST's 10,000 test images with ex1/model1 (keras_lab.predict, tracing
included as in a run), then the record and every figure of a run
(common.experiment.write_outputs) into a temporary folder.

Writes results/benchmarks/keras.json (atomically) and prints the table. On a
shared machine the numbers are lower bounds: the record holds the load
average at start and end.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

from common import benchmark, precision  # noqa: E402
from common.entry import exit_process  # noqa: E402
from common.benchmark import (CONV_HEAVY_MACS, benchmark_main, evaluation_figures, load_average,  # noqa: E402
                                    measure_models, new_record, now_utc, precisions_to_time, save_record)

FRAMEWORK = "keras"
WARMUP_STEPS = 3
now = time.perf_counter
tf = keras = keras_lab = None  # imported by run(), after the arguments and the data are checked


def main(argv=None) -> int:
    return benchmark_main(FRAMEWORK, __doc__.split("\n\n")[0], run, argv)


# --- measurements ----------------------------------------------------------------

def run(args, registry, entries) -> None:
    from common import data as datasets

    from common import experiment  # noqa: F401  matplotlib and scikit-learn, loaded before training as in a run

    load_start, started = load_average(), now_utc()
    # Data first: a missing file fails before TensorFlow loads.
    needed = {e.dataset for e in entries}
    if args.eval_figures:
        needed.add("mnist")
    data = {name: datasets.load(name, args.data_dir) for name in sorted(needed)}

    global tf, keras, keras_lab
    import keras_lab
    import keras
    import tensorflow as tf
    if args.threads:  # before TensorFlow runs its first operation
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras_lab.setup(args)
    device = keras_lab.DEVICE_TEXT
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}; load average {load_start}", flush=True)

    in_memory, trained = {}, {}

    def measure_entry(entry, p):
        if entry.dataset not in in_memory:  # one data set in memory at a time
            ds = data[entry.dataset]
            in_memory.clear()
            in_memory[entry.dataset] = (ds.x_train, ds.y_train)  # uint8: the pipeline normalises, as in training
        keras_lab.set_precision(p, [])  # the global dtype policy the model is built under
        result, model = measure(entry, *in_memory[entry.dataset], args)
        result["precision"] = p
        keras_lab.set_precision("fp32", [])
        if entry.id == "ex1/model1" and p == "fp32":  # --eval-figures predicts with it
            trained[entry.id] = model
        return result

    gpus = tf.config.list_physical_devices("GPU") if args.device != "cpu" else []
    auto = precision.choose("auto", "gpu" if gpus else "cpu", cpu_bf16=bool(precision.cpu_bf16_features()),
                            cuda_bf16=bool(gpus) and keras_lab.gpu_bf16(gpus))
    results, peaks = measure_models(entries, precisions_to_time(args, auto), measure_entry,
                                    lambda repeats, p: matmul_peak(args.peak_size, repeats, p))
    in_memory.clear()
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    software = {"versions": keras_lab.versions(), "device": device,
                "threads": intra or "TensorFlow's default (one per core)"}
    record = new_record(FRAMEWORK, args, started, load_start, software, results, peaks, "tf.linalg.matmul")
    if args.eval_figures:
        record["evaluation_figures"] = evaluation_figures(keras_lab, build, args, registry, data["mnist"], device,
                                                         trained.get("ex1/model1"), " (tracing included)")
    save_record(record, args.out)


def matmul_peak(n: int, repeats: int, precision_name: str = "fp32") -> dict:
    dtype = {"fp32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}[precision_name]
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    # reading one element waits for the product
    return benchmark.matmul_peak(lambda: tf.linalg.matmul(a, b)[0, 0].numpy(), n, repeats)


def all_layers(model) -> list:
    """Every layer of a model, those inside nested models (ex4's ResNet50) included."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found += all_layers(layer)
    return found


def count_multiply_adds(entry, model) -> tuple:
    """Forward multiply-adds per image, from the built model's Conv2D and Dense layers."""
    total = 0
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            h, w, c_out = layer.output.shape[1:]
            kh, kw, c_in_per_group, _ = layer.kernel.shape
            total += h * w * c_out * kh * kw * c_in_per_group
        elif isinstance(layer, keras.layers.Dense):
            total += math.prod(layer.kernel.shape) * math.prod(layer.output.shape[1:-1])
    return total, "Conv2D and Dense layers of the built model"


def build(entry, args):
    keras.utils.set_random_seed(args.seed)
    # ex4's models read these options; the benchmark times a fresh, unfrozen network at 32x32.
    build_args = argparse.Namespace(**{"weights": "none", "freeze_backbone": False, "image_size": 32, "lr": 1e-3,
                                       **vars(args)})
    model = entry.build(build_args)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.lr if hasattr(args, "lr") else 1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # as the exercise scripts compile
    return model


def measure(entry, x, y, args) -> tuple:
    """Time model.fit's steps for one model, then its input pipeline and augmentation alone; (result, model)."""
    model = build(entry, args)
    macs, mac_source = count_multiply_adds(entry, model)
    peak = matmul_peak(args.peak_size, 3, keras_lab.PRECISION)["gflops"]
    n, bs = len(x), args.batch_size
    n_full, partial = divmod(n, bs)
    warm_s = min(2.0, args.seconds / 5)

    class Clock(keras.callbacks.Callback):
        """The time at the end of every step; stops fit after warm-up plus --seconds."""

        def __init__(self):
            super().__init__()
            self.times, self.sizes, self.warm = [], [], None

        def on_train_batch_end(self, batch, logs=None):
            t = now()
            self.times.append(t)
            self.sizes.append(bs if batch < n_full else partial)
            if self.warm is None:
                if len(self.times) > WARMUP_STEPS and t - self.times[0] >= warm_s:
                    self.warm = len(self.times) - 1
            elif len(self.times) - 1 - self.warm >= WARMUP_STEPS and t - self.times[self.warm] >= args.seconds:
                self.model.stop_training = True

    clock = Clock()
    # The exercise scripts' fit on their pipeline, without validation, until the clock stops it.
    batches = keras_lab.shuffled_batches(x, y, argparse.Namespace(seed=args.seed, batch_size=bs), 0, 1).repeat()
    model.fit(batches, epochs=10 ** 6, steps_per_epoch=n_full + (partial > 0), shuffle=False, verbose=0,
              callbacks=[clock])
    steps = len(clock.times) - 1 - clock.warm
    total = clock.times[-1] - clock.times[clock.warm]
    samples = sum(clock.sizes[clock.warm + 1:])
    step_s = total / steps

    side_budget = min(args.seconds, 3.0)
    pipeline_s, pipeline_how = time_input_pipeline(x, y, bs, args.seed, side_budget)
    augmentation = keras_lab.augmentation(model)
    augment_s = time_augmentation(model, keras_lab.normalise(x[:bs]), side_budget) if augmentation else None

    rate = samples / total
    gflops = 6 * macs * rate / 1e9
    result = {
        "id": entry.id, "exercise": entry.exercise, "model": entry.name, "dataset": entry.dataset,
        "augmentation": augmentation,
        "multiply_adds": int(macs), "multiply_adds_source": mac_source,
        "conv_heavy": macs >= CONV_HEAVY_MACS,
        "steps": steps, "measured_s": round(total, 3),
        "samples_per_s": round(rate, 1),
        "step_ms": round(1000 * step_s, 3),
        "gflops": round(gflops, 2),
        "peak_gflops_before": round(peak, 2),  # the matmul peak measured just before: how contended it was
        "fraction_of_peak": None,  # of the machine's best measured peak, set by run() once every peak is in
        "input_pipeline_ms": round(1000 * pipeline_s, 3),
        "input_pipeline": pipeline_how,
        "input_share": round(pipeline_s / step_s, 4),
        "augment_ms": round(1000 * augment_s, 3) if augment_s is not None else None,
        "augment_share": round(augment_s / step_s, 4) if augment_s is not None else None,
    }
    return result, model


def _time_calls(call, budget: float) -> float:
    """Seconds per call of ``call`` after 3 warm-up calls, over about ``budget`` seconds (at least 3 calls)."""
    for _ in range(WARMUP_STEPS):
        call()
    start, calls = now(), 0
    while calls < WARMUP_STEPS or now() - start < budget:
        call()
        calls += 1
    return (now() - start) / calls


def time_input_pipeline(x, y, bs: int, seed: int, budget: float) -> tuple:
    """Seconds per batch of the training loop's tf.data pipeline, pulled alone."""
    iterator = iter(keras_lab.shuffled_batches(x, y, argparse.Namespace(seed=seed, batch_size=bs), 0, 1).repeat())
    how = "keras_lab.shuffled_batches (the training pipeline), batches pulled alone"
    return _time_calls(lambda: next(iterator), budget), how


def time_augmentation(model, batch, budget: float) -> float:
    """Seconds per batch of the model's augmentation layers alone, in training mode, traced as fit traces them."""
    layers = keras.Sequential([layer for layer in model.layers if isinstance(layer, keras_lab.AUGMENTATION_LAYERS)])
    apply = tf.function(lambda images: layers(images, training=True))
    images = tf.constant(batch)
    return _time_calls(lambda: apply(images).numpy(), budget)


if __name__ == "__main__":
    exit_process(main())
