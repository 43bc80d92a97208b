"""Training throughput of the exercises' models against this machine's limit (PyTorch).

    python pytorch/benchmark.py                                   # every layered model, 10 s each, and the extras
    python pytorch/benchmark.py --models ex1/model4 PraisyNetDA --seconds 5
    python pytorch/benchmark.py --list                            # the models and their multiply-adds
    python -m common.benchmark_table                              # docs/performance.md's tables from the record

Per model, after warm-up, the training step of pytorch/torch_lab.py's loop
(a batch indexed from the one normalised tensor on the device, the script's augmentation
for augmented models, forward, loss, backward, Adam), set up by the same
torch_lab.prepare_training (channels_last on CPU and CUDA; autocast in each
--precision; --no-mixed-precision: the plain layout), is timed for --seconds:

- samples/s, and GFLOP/s = 6 x multiply-adds per image x samples/s (counted
  from the built model (torch: FlopCounterMode; Keras: its Conv2D and Dense layers); 2 FLOPs per
  multiply-add, forward plus backward = 3 forward passes);
- the share of the machine's fp32 peak, measured in this process: the
  fastest torch.mm of two --peak-size square matrices (5 at start, 3 before
  each model, 5 at the end). On a shared machine the peak seen just before
  a model varies with the other jobs; the best of all is the machine's, so
  every share is of the same, most favourable, number (a lower bound);
- the shares of the step spent indexing the batch (the input pipeline) and
  augmenting it, each timed around that part of the step.

Extras (on by default when --models is not given):

--compare-dataloader  ex1/model1 on MNIST for one epoch the usual way (the
    report's): a per-sample Dataset (uint8 numpy -> ToTensor + Normalize per
    image) through a DataLoader (--batch-size, shuffle, num_workers 0), against
    the in-memory slicing loop; the two are run in alternating blocks so a
    changing background load hits both, and extrapolated to one epoch when
    --seconds ends them first.
--eval-figures  probabilities for MNIST's 10,000 test images with model1,
    then the record and every figure of a run (common.experiment.write_outputs)
    into a temporary folder: the time a run spends after training.

Writes results/benchmarks/pytorch.json (atomically) and prints the table.
On a shared machine the numbers are lower bounds: the record holds the load
average at start and end.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow installed packages

import argparse  # noqa: E402
import time  # noqa: E402

from common import benchmark  # noqa: E402
from common.data import SPECS  # noqa: E402
from common.entry import exit_process  # noqa: E402
from common.benchmark import (CONV_HEAVY_MACS, benchmark_main, evaluation_figures, load_average,  # noqa: E402
                                    measure_models, new_record, now_utc, precisions_to_time, save_record)

FRAMEWORK = "pytorch"
WARMUP_STEPS = 3
now = time.perf_counter
torch = nn = torch_lab = None  # imported by run(), after the arguments and the data are checked


def main(argv=None) -> int:
    return benchmark_main(FRAMEWORK, __doc__.split("\n\n")[0], run, argv, add_options=add_torch_options)


def add_torch_options(parser) -> None:
    parser.add_argument("--compare-dataloader", action=argparse.BooleanOptionalAction, default=None,
                        help="also time one epoch of ex1/model1 through a per-sample DataLoader against the "
                             "in-memory loop (default: on when --models is not given)")
    parser.add_argument("--plain-layout", action="store_true",
                        help="time the step in the plain NCHW layout, without channels_last (CPU, CUDA)")
    parser.add_argument("--profile", action="store_true",
                        help="after each model, print torch.profiler's top operators over a few steps")


# --- measurements ----------------------------------------------------------------

def run(args, registry, entries) -> None:
    from common import data as datasets

    from common import experiment  # noqa: F401  matplotlib and scikit-learn, loaded before training as in a run

    load_start, started = load_average(), now_utc()
    # Data first: a missing file fails before torch loads.
    needed = {e.dataset for e in entries}
    if args.compare_dataloader or args.eval_figures:
        needed.add("mnist")
    data = {name: datasets.load(name, args.data_dir) for name in sorted(needed)}

    global torch, nn, torch_lab
    import torch
    from torch import nn

    import torch_lab
    if args.threads:
        torch.set_num_threads(args.threads)
    torch_lab.setup(args)
    device = torch_lab.DEVICE_TEXT
    print(f"pytorch {torch.__version__}; load average {load_start}", flush=True)

    on_device = {}

    def measure_entry(entry, precision):
        if entry.dataset not in on_device:  # one data set in memory at a time
            ds = data[entry.dataset]
            on_device.clear()
            on_device[entry.dataset] = (torch_lab.to_device(ds.x_train), torch.from_numpy(ds.y_train).to(torch_lab.DEVICE))
        return measure(entry, *on_device[entry.dataset], args, precision)

    precisions = precisions_to_time(args, torch_lab.choose_precision("auto", torch_lab.DEVICE))
    results, peaks = measure_models(entries, precisions, measure_entry,
                                    lambda repeats, precision: matmul_peak(args.peak_size, repeats, precision))
    on_device.clear()
    software = {"versions": torch_lab.versions(), "device": device, "threads": torch.get_num_threads()}
    record = new_record(FRAMEWORK, args, started, load_start, software, results, peaks, "torch.mm")
    trained_model1 = None
    if args.compare_dataloader:
        record["dataloader_comparison"], trained_model1 = compare_dataloader(args, registry, data["mnist"])
    if args.eval_figures:
        record["evaluation_figures"] = evaluation_figures(torch_lab, build, args, registry, data["mnist"], device,
                                                         trained_model1)
    save_record(record, args.out)


def sync() -> None:
    """Wait for the device, so a timer reads finished work (CPU ops are synchronous already)."""
    if torch_lab.DEVICE.type == "cuda":
        torch.cuda.synchronize()
    elif torch_lab.DEVICE.type == "mps":
        torch.mps.synchronize()


def matmul_peak(n: int, repeats: int, precision: str = "fp32") -> dict:
    dtype = torch_lab.AMP_DTYPES[precision] or torch.float32
    a = torch.randn(n, n, device=torch_lab.DEVICE, dtype=dtype)
    b = torch.randn(n, n, device=torch_lab.DEVICE, dtype=dtype)

    def multiply():
        torch.mm(a, b)
        sync()

    return benchmark.matmul_peak(multiply, n, repeats)


def count_multiply_adds(entry, model) -> tuple:
    """Forward multiply-adds per image, counted by torch on one image (2 FLOPs per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    h, w, c = SPECS[entry.dataset]["image"]
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, c, h, w, device=torch_lab.DEVICE))
    return counter.get_total_flops() // 2, "torch FlopCounterMode"


def build(entry, args):
    torch.manual_seed(args.seed)
    # ex4's models read these options; the benchmark times a fresh, unfrozen network at 32x32.
    build_args = argparse.Namespace(**{"weights": "none", "freeze_backbone": False, "image_size": 32,
                                       **vars(args)})
    return entry.build(build_args).to(torch_lab.DEVICE)


def measure(entry, x, y, args, precision="fp32") -> dict:
    """Time torch_lab.train's step for one model in one precision: indexing, augmentation, forward-backward-update."""
    model = build(entry, args)
    macs, mac_source = count_multiply_adds(entry, model)
    peak = matmul_peak(args.peak_size, 3, precision)["gflops"]
    x, amp, scaler = torch_lab.prepare_training(model, x, args, precision)  # as torch_lab.train sets them
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(args.seed)
    augment_rng = torch.Generator(device=torch_lab.DEVICE).manual_seed(args.seed + 1)
    aug = entry.augment
    n, bs = len(x), args.batch_size
    state = {"order": None, "i": n}
    total_loss = torch.zeros((), device=torch_lab.DEVICE)
    correct = torch.zeros((), device=torch_lab.DEVICE, dtype=torch.long)

    def step() -> tuple:
        nonlocal total_loss, correct
        t0 = now()
        if state["i"] >= n:  # a new epoch: the loop draws a new order (amortised over the epoch)
            state["order"], state["i"] = torch.randperm(n, generator=shuffle).to(torch_lab.DEVICE), 0
        idx = state["order"][state["i"]:state["i"] + bs]
        state["i"] += bs
        xb, yb = x[idx], y[idx]
        sync()
        t1 = now()
        if aug is not None:
            xb = aug(xb, augment_rng)
            sync()
        t2 = now()
        out, loss = torch_lab.optimisation_step(model, optimizer, loss_fn, xb, yb, amp, scaler)
        total_loss += loss.detach() * len(idx)
        correct += (out.argmax(1) == yb).sum()
        sync()
        return len(idx), t1 - t0, t2 - t1, now() - t0

    warm_start = now()
    for i in range(100):  # warm-up: oneDNN primitives, allocator; at least 3 steps, up to ~1/5 of --seconds
        step()
        if i + 1 >= WARMUP_STEPS and now() - warm_start >= min(2.0, args.seconds / 5):
            break
    samples = steps = 0
    pipeline = augmenting = total = 0.0
    while steps < WARMUP_STEPS or total < args.seconds:
        k, t_in, t_aug, t_step = step()
        samples, steps = samples + k, steps + 1
        pipeline, augmenting, total = pipeline + t_in, augmenting + t_aug, total + t_step
    if args.profile:
        profile(entry, step)

    rate = samples / total
    gflops = 6 * macs * rate / 1e9
    return {
        "id": entry.id, "exercise": entry.exercise, "model": entry.name, "dataset": entry.dataset,
        "precision": precision,
        "augmentation": str(aug) if aug is not None else None,
        "multiply_adds": int(macs), "multiply_adds_source": mac_source,
        "conv_heavy": macs >= CONV_HEAVY_MACS,
        "steps": steps, "measured_s": round(total, 3),
        "samples_per_s": round(rate, 1),
        "step_ms": round(1000 * total / steps, 3),
        "gflops": round(gflops, 2),
        "peak_gflops_before": round(peak, 2),  # the matmul peak measured just before: how contended it was
        "fraction_of_peak": None,  # of the machine's best measured peak, set by run() once every peak is in
        "input_share": round(pipeline / total, 4),
        "augment_share": round(augmenting / total, 4) if aug is not None else None,
    }


def profile(entry, step, steps: int = 5) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    print(f"\n-- torch.profiler, {entry.id}, {steps} steps --")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12), flush=True)


# --- the report's way: a per-sample Dataset through a DataLoader --------------------

def compare_dataloader(args, registry, mnist) -> tuple:
    """One epoch of ex1/model1 through a per-sample DataLoader vs the in-memory loop; (result, trained model)."""
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms

    entry = next(e for e in registry if e.id == "ex1/model1")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])

    class PerSample(Dataset):
        """What torchvision-style code does: one uint8 image at a time, converted and normalised in Python."""

        def __init__(self, images, labels):
            self.images, self.labels = images, labels

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return transform(self.images[i]), int(self.labels[i])

    bs = args.batch_size
    n = len(mnist.x_train)
    steps_per_epoch = -(-n // bs)
    loss_fn = nn.CrossEntropyLoss()
    models = {}

    def train_steps(kind, batches):
        model = build(entry, args)
        _, amp, scaler = torch_lab.prepare_training(model, None, args)  # the same model and step on both sides
        models[kind] = model
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        total_loss = torch.zeros((), device=torch_lab.DEVICE)
        correct = torch.zeros((), device=torch_lab.DEVICE, dtype=torch.long)
        for xb, yb in batches:  # the step of torch_lab.train, the same for both sides
            out, loss = torch_lab.optimisation_step(model, optimizer, loss_fn, xb, yb, amp, scaler)
            total_loss += loss.detach() * len(yb)
            correct += (out.argmax(1) == yb).sum()
            sync()
            yield len(yb)

    def per_sample_batches():
        loader = DataLoader(PerSample(mnist.x_train, mnist.y_train), batch_size=bs, shuffle=True, num_workers=0,
                            generator=torch.Generator().manual_seed(args.seed))
        while True:
            for xb, yb in loader:
                yield xb.to(torch_lab.DEVICE), yb.to(torch_lab.DEVICE)

    def in_memory_batches():
        x = torch_lab.to_device(mnist.x_train)  # once per run, before the first epoch (not timed), as train does
        if torch_lab.device_speedups(args)[1]:  # channels_last, as prepare_training gives train its images
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(mnist.y_train).to(torch_lab.DEVICE)
        shuffle = torch.Generator().manual_seed(args.seed)
        while True:
            order = torch.randperm(n, generator=shuffle).to(torch_lab.DEVICE)
            for i in range(0, n, bs):
                idx = order[i:i + bs]
                yield x[idx], y[idx]

    sides = {"per_sample": train_steps("per_sample", per_sample_batches()),
             "in_memory": train_steps("in_memory", in_memory_batches())}
    for steps in sides.values():  # warm-up (and, for in_memory, the one-off copy to the device)
        for _ in range(WARMUP_STEPS):
            next(steps)
    stats = {kind: {"steps": 0, "samples": 0, "seconds": 0.0} for kind in sides}
    rounds = 3  # alternate blocks: a background load that changes hits both sides alike
    for _ in range(rounds):
        for kind, steps in sides.items():
            s = stats[kind]
            start = now()
            while s["steps"] < steps_per_epoch and now() - start < args.seconds / rounds:
                s["samples"] += next(steps)
                s["steps"] += 1
            s["seconds"] += now() - start
    result = {"model": entry.id, "n_train": n, "batch_size": bs, "num_workers": 0,
              "per_sample_transform": "transforms.ToTensor() + transforms.Normalize((0.1307,), (0.3081,)) per image",
              "warmup_steps": WARMUP_STEPS}
    for kind, s in stats.items():
        step_s = s["seconds"] / s["steps"]
        result[kind] = {"steps": s["steps"], "measured_s": round(s["seconds"], 3),
                        "samples_per_s": round(s["samples"] / s["seconds"], 1),
                        "epoch_s": round(step_s * steps_per_epoch, 3),
                        "extrapolated": s["steps"] < steps_per_epoch}
    result["speedup"] = round(result["per_sample"]["epoch_s"] / result["in_memory"]["epoch_s"], 3)
    how = (f"extrapolated from {stats['per_sample']['steps']} and {stats['in_memory']['steps']} steps"
           if result["per_sample"]["extrapolated"] or result["in_memory"]["extrapolated"] else "measured")
    print(f"\nex1/model1, one epoch ({n:,} images): per-sample DataLoader {result['per_sample']['epoch_s']:.1f} s, "
          f"in-memory {result['in_memory']['epoch_s']:.1f} s -> {result['speedup']:.2f}x ({how})", flush=True)
    return result, models["in_memory"]


if __name__ == "__main__":
    exit_process(main())
