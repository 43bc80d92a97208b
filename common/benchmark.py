"""The performance benchmark's framework-free half: which models, the command line, the measuring loop
both frameworks share, and the record.

``pytorch/benchmark.py`` and ``keras/benchmark.py`` measure (each in its own
process: never both frameworks in one) and write
``results/benchmarks/<framework>.json``; this module chooses their models from
the exercise scripts' tables, parses their common options, times the models in
each precision, and writes the record. ``common.benchmark_table`` renders the
records as the tables of docs/performance.md.

A benchmark record of the repository (``results/benchmarks/*.json``, wherever
--out names it: a relative or absolute path, or through a link) is replaced only
by a benchmark at least as full: every model and precision it holds, measured
at least as long (--seconds), with the same batch size and seed, and its extra
parts (the DataLoader comparison, evaluation and figures). A shorter or partial
one is refused in one line, before measuring when the plan already falls short,
else before writing; --force replaces it anyway, --out FILE writes elsewhere.

Standard library only: never imports torch, TensorFlow or numpy.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from common.atomic import check_writable, write_json
from common.entry import run_command
from common.errors import UserError
from common.parser import BATCH_SIZE, SEED, Parser, finite, whole
from common.scripts import ScriptInfo, load_script, read_script

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "results" / "benchmarks"
FRAMEWORKS = {"pytorch": "PyTorch", "keras": "Keras"}
CONV_HEAVY_MACS = 20e6  # multiply-adds per image from which a model counts as conv-heavy (in the record)


# --- the models -------------------------------------------------------------

@dataclass
class Entry:
    """One benchmarkable model: ``ex1/model4``, its script's table, and its builder once the script is imported."""
    id: str
    script: ScriptInfo
    name: str

    @property
    def exercise(self) -> str:
        return self.script.exercise

    @property
    def dataset(self) -> str:
        return self.script.dataset

    @property
    def by_default(self) -> bool:
        return self.exercise != "ex4"  # ResNet50 takes minutes per measurement on a CPU: on request only

    @property
    def report_epochs(self) -> int:
        return self.script.epochs[self.name]

    def module(self):
        """The exercise script as a module (it imports its framework: only in that framework's benchmark)."""
        return load_script(self.script.path, f"_benchmark_{self.script.framework}_{self.script.path.stem}")

    def build(self, args):
        """The model as the script builds it; ex4's builders read --weights, --freeze-backbone, --image-size."""
        make = self.module().MODELS[self.name]
        return make(args) if self.exercise == "ex4" else make()

    @property
    def augment(self):
        """PyTorch's batched transform for this model, or None (Keras' augmentation is in the model)."""
        return getattr(self.module(), "AUGMENT", {}).get(self.name) if self.script.framework == "pytorch" else None


def load_registry(framework: str) -> list:
    """Every model of every exercise script of ``framework``, in exercise then report order, read from the
    scripts' EPOCHS tables (nothing imported); a script whose table cannot be read is skipped with a warning."""
    entries = []
    for path in sorted((REPO_ROOT / framework).glob("ex[0-9]*_*.py")):
        try:
            script = read_script(path)
        except UserError as exc:  # a script being written must not stop the benchmark
            print(f"warning: {exc}; its models are skipped", file=sys.stderr)
            continue
        entries += [Entry(f"{script.exercise}/{name}", script, name) for name in script.models]
    return entries


def select(entries: list, requested: Optional[list]) -> list:
    """The models named on the command line, or by default every model but ResNet50 (minutes per measurement).

    A name is ``ex1/model4``, an exercise (``ex3``: its models), or a
    plain model name when only one exercise has it.
    """
    if not requested:
        return [e for e in entries if e.by_default]
    chosen = []
    for name in requested:
        if "/" in name:
            found = [e for e in entries if e.id == name]
        elif any(e.exercise == name for e in entries):
            found = [e for e in entries if e.exercise == name]
        else:
            found = [e for e in entries if e.name == name]
            if len(found) > 1:
                raise UserError(f"model {name!r} is ambiguous: say {' or '.join(e.id for e in found)}")
        if not found:
            raise UserError(f"unknown model {name!r}: choose from {', '.join(e.id for e in entries)}")
        chosen += [e for e in found if e not in chosen]
    return chosen


# --- the command line ---------------------------------------------------------

def build_parser(framework: str, description: str) -> argparse.ArgumentParser:
    parser = Parser(prog=f"python {framework}/benchmark.py", description=description)
    parser.add_argument("--models", nargs="+", metavar="NAME", default=None,
                        help="e.g. ex1/model4 ex3/PraisyNetDA, an exercise (ex2), or a plain name when unambiguous "
                             "(default: every model of exercises 1-3; ResNet50 only when named)")
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=128, help="training images per step")
    parser.add_argument("--seconds", type=finite(0, above=True), default=10.0,
                        help="length of each measurement, after warm-up")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help=f"the JSON record (default: results/benchmarks/{framework}.json)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the data (else $LAB_DATA_DIR, then data/ in the repository)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                        help="auto: CUDA, then Apple MPS, then CPU")
    parser.add_argument("--seed", type=SEED, default=0, help="seeds the initial weights and the batches timed")
    parser.add_argument("--peak-size", type=whole(64, 16384), default=2048, metavar="N",
                        help="side of the square fp32 matmuls that measure the machine's peak")
    parser.add_argument("--eval-figures", action=argparse.BooleanOptionalAction, default=None,
                        help="also time evaluation plus all figures of ex1/model1 on the 10,000 MNIST test images "
                             "(default: on when --models is not given)")
    parser.add_argument("--threads", type=whole(1, 1024), default=None, metavar="N",
                        help="threads the framework computes with (torch.set_num_threads; TensorFlow's intra- and "
                             "inter-op pools) (default: the framework's, one per core); on a machine shared with "
                             "other jobs, 1 avoids threads waiting for each other")
    parser.add_argument("--precision", dest="precisions", nargs="+", choices=("fp32", "bf16", "fp16"), default=None,
                        metavar="P",
                        help="time every model in each of these precisions, side by side: fp32 bf16 fp16 "
                             "(default: fp32, and bf16 where the device computes it natively)")
    parser.add_argument("--force", action="store_true",
                        help="replace the repository's benchmark record even when it holds more models, precisions "
                             "or parts, or longer measurements, than this run")
    parser.add_argument("--list", action="store_true", help="list the models it would time and exit")
    return parser


def benchmark_main(framework: str, description: str, run, argv=None, add_options=None) -> int:
    """Entry point of both benchmark scripts: parse, check, then ``run(args, registry, entries)``.

    Errors are one line (exit 2). Ctrl-C and SIGTERM end it with one line too
    (exit 130, 143): the record is written only at the very end, and
    atomically, so an interrupted benchmark writes nothing.
    """
    def body() -> int:
        parser = build_parser(framework, description)
        if add_options:
            add_options(parser)
        args = parser.parse_args(argv)
        check_args(args, framework)
        FORCE.append(args.force)
        registry = load_registry(framework)
        entries = select(registry, args.models)
        if args.list:
            print(format_list(entries))
            return 0
        refuse_replacing(args.out, planned_record(args, entries), args.force)  # before minutes of measuring
        run(args, registry, entries)
        return 0

    return run_command(body, "benchmark stopped, nothing written")


def check_args(args, framework: str) -> None:
    args.precision = "fp32"  # the extras (DataLoader comparison, evaluation and figures) run as a default run would
    if args.precisions:
        args.precisions = list(dict.fromkeys(args.precisions))
    full = args.models is None
    if args.eval_figures is None:
        args.eval_figures = full
    if getattr(args, "compare_dataloader", False) is None:
        args.compare_dataloader = full
    args.out = Path(args.out) if args.out else RESULTS_DIR / f"{framework}.json"
    if not args.list:  # fail now, not after minutes of measuring
        if args.out.is_dir():
            raise UserError(f"--out {args.out}: a folder; give the record's file name "
                            f"(e.g. {args.out / f'{framework}.json'})")
        check_writable(args.out.parent, f"--out {args.out}: its folder ")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir}: no such folder")


def format_list(entries: list) -> str:
    """The chosen models, with the data set each is timed on (framework-free: nothing is built)."""
    rows = [f"{'model':<16} {'data':<8} augmentation"]
    rows += [f"{e.id:<16} {e.dataset:<8} {e.augment or ('in the model' if e.exercise == 'ex3' else '-')}"
             for e in entries]
    return "\n".join(rows)


def machine() -> dict:
    """What the record says about the machine, whatever the framework."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def load_average() -> Optional[list]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):  # not on Windows
        return None


# --- the measuring loop both scripts share ---------------------------------------

def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def matmul_peak(multiply, n: int, repeats: int) -> dict:
    """fp32 GFLOP/s of the best and the median of ``repeats`` timed calls of ``multiply``.

    ``multiply()`` computes one product of two n x n float32 matrices (2 n^3
    FLOPs) and waits for it; a first, untimed call pays for allocation and
    kernel choice.
    """
    multiply()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        multiply()
        times.append(time.perf_counter() - start)
    times.sort()
    flops = 2 * n ** 3
    return {"gflops": flops / times[0] / 1e9, "median_gflops": flops / times[len(times) // 2] / 1e9}


def precisions_to_time(args, auto: str) -> list:
    """--precision as given, else fp32 and the one --precision auto picks on this device (if another)."""
    return args.precisions or list(dict.fromkeys(["fp32", auto]))


def measure_models(entries: list, precisions: list, measure, peak) -> tuple:
    """``measure(entry, precision)`` for every model in every precision, each as a share of the best matmul peak
    of its own precision; (results, peaks).

    ``peak(repeats, precision)`` is the framework's matmul_peak at --peak-size in that precision, and each
    result holds the one measured just before its model. On a shared machine that peak varies with the
    other jobs; the best of all (5 at start, 3 before each model, 5 at the end) is the machine's, so every
    share is of the same, most favourable, number: a lower bound.
    """
    best = {}
    for p in precisions:
        start = peak(5, p)
        best[p] = {"start": start["gflops"], "best": start["gflops"]}
        print(f"{p} matmul peak: {start['gflops']:.1f} GFLOP/s (best of 5; median {start['median_gflops']:.1f})",
              flush=True)
    results = []
    for entry in entries:
        for p in precisions:  # the precisions of one model one after the other: the same background load
            result = measure(entry, p)
            results.append(result)
            best[p]["best"] = max(best[p]["best"], result["peak_gflops_before"])
            result["fraction_of_peak"] = round(result["gflops"] / best[p]["best"], 4)
            print_row(result)
            gc.collect()  # free this model's memory before the next one is timed
    for p in precisions:
        best[p]["end"] = peak(5, p)["gflops"]
        best[p]["best"] = max(best[p]["best"], best[p]["end"])
    fp32 = {r["id"]: r["samples_per_s"] for r in results if r["precision"] == "fp32"}
    for result in results:  # every model against the machine's best measured peak of its precision
        result["fraction_of_peak"] = round(result["gflops"] / best[result["precision"]]["best"], 4)
        result["speedup_over_fp32"] = round(result["samples_per_s"] / fp32[result["id"]], 3) \
            if result["id"] in fp32 else None
    peaks = {p: {"peak_gflops": round(v["best"], 2), "at_start": round(v["start"], 2), "at_end": round(v["end"], 2)}
             for p, v in best.items()}
    return results, peaks


def print_row(r: dict) -> None:
    aug = f"  augment {r['augment_share']:6.1%}" if r["augment_share"] is not None else ""
    print(f"{r['id']:<18} {r['precision']:<5} {r['multiply_adds'] / 1e6:8.2f} M mult-adds  {r['samples_per_s']:8.0f} samples/s  "
          f"{r['gflops']:6.1f} GFLOP/s = {r['fraction_of_peak']:6.1%} of the best peak so far "
          f"(matmul just before: {r['peak_gflops_before']:.1f})  "
          f"input {r['input_share']:6.1%}{aug}", flush=True)


def new_record(framework: str, args, started: datetime.datetime, load_start, software: dict, results: list,
               peaks: dict, peak_operation: str) -> dict:
    """The record's fields common to both frameworks; ``software``: versions, device, threads."""
    return {
        "framework": framework,
        "date": started.date().isoformat(),
        "created": started.isoformat(timespec="seconds"),
        "command": " ".join([f"{framework}/benchmark.py"] + sys.argv[1:]),
        **software,
        **machine(),
        "batch_size": args.batch_size,
        "seed": args.seed,
        "seconds": args.seconds,
        "load_average_start": load_start,
        "precisions": list(peaks),
        "peaks": peaks,  # precision -> GFLOP/s: the best measured (peak_gflops), at start, at end
        "peak_method": f"{peak_operation} {args.peak_size}x{args.peak_size} in each precision, the best of all: "
                       f"5 at start, 3 before each model, 5 at the end",
        "models": results,
    }


def save_record(record: dict, out: Path, force: Optional[bool] = None) -> None:
    """Write the record (atomically: an interrupted benchmark leaves the old one) and print its table; a record
    of the repository is replaced only by one at least as full (``refuse_replacing``), unless ``force`` (None:
    the --force of the command line ``benchmark_main`` parsed)."""
    from common.benchmark_table import render  # the table of the record just measured

    record["load_average_end"] = load_average()
    refuse_replacing(out, record, FORCE[-1] if force is None else force)
    write_json(out, record)
    print("\n" + render(record))
    print(f"\nrecord -> {out}", flush=True)


# --- a fuller record is kept -------------------------------------------------------

FORCE = [False]  # the last --force benchmark_main parsed, for save_record
EXTRA_PARTS = {"dataloader_comparison": "the DataLoader comparison (--compare-dataloader)",
               "evaluation_figures": "the evaluation and figures timing (--eval-figures)"}


def planned_record(args, entries: list) -> dict:
    """What a benchmark of ``args`` will record, as far as it is known before measuring: the precisions only when
    --precision names them (else the framework adds the one it picks to fp32)."""
    precisions = args.precisions or ["fp32"]
    plan = {"models": [{"id": e.id, "precision": p} for e in entries for p in precisions],
            "seconds": args.seconds, "batch_size": args.batch_size, "seed": args.seed,
            "precisions_known": bool(args.precisions)}
    for part in EXTRA_PARTS:
        if getattr(args, part, False):
            plan[part] = True
    return plan


def benchmark_shortfall(old: dict, new: dict) -> list:
    """How benchmark record ``new`` (or a plan, ``planned_record``) falls short of ``old``, in words ([]: it may
    replace it)."""
    def rows(record):
        models = record.get("models") if isinstance(record.get("models"), list) else []
        return [(m.get("id"), m.get("precision")) for m in models if isinstance(m, dict)]

    words = []
    old_rows, new_rows = rows(old), rows(new)
    if new.get("precisions_known", True):
        missing = [f"{i} {p}" for i, p in old_rows if (i, p) not in new_rows]
    else:  # the plan's precisions are chosen once the framework is up: compare the models only
        missing = sorted({i for i, _ in old_rows} - {i for i, _ in new_rows})
    if missing:
        words.append(f"it lacks {len(missing)} of the record's {len(old_rows)} rows ({', '.join(missing[:6])}"
                     + (", ..." if len(missing) > 6 else "") + ")")
    for key, unit in (("seconds", "s per measurement"),):
        if isinstance(old.get(key), (int, float)) and isinstance(new.get(key), (int, float)) and new[key] < old[key]:
            words.append(f"--{key} {new[key]:g} where the record has {old[key]:g}")
    for key in ("batch_size", "seed"):
        if key in old and new.get(key) != old[key]:
            words.append(f"--{key.replace('_', '-')} {new.get(key)} where the record has {old[key]}")
    for part, what in EXTRA_PARTS.items():
        if old.get(part) and not new.get(part):
            words.append(f"it lacks {what}")
    return words


def refuse_replacing(out, new: dict, force: bool, repository=REPO_ROOT) -> None:
    """Stop, in one line, a benchmark that would replace a fuller benchmark record of the repository (whatever
    path names it), unless ``force``. Elsewhere any record is replaced."""
    out = Path(out)
    benchmarks = (Path(repository) / "results").resolve()
    if force or not out.exists() or benchmarks not in out.resolve().parents:
        return
    try:
        old = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UserError(f"{out} is kept: it does not parse as a benchmark record ({type(exc).__name__}); write "
                        f"this benchmark elsewhere with --out FILE, or replace it with --force") from None
    words = benchmark_shortfall(old, new) if isinstance(old, dict) else ["the record is not a JSON object"]
    if words:
        raise UserError(f"{out} is kept: a shorter or partial benchmark does not replace a fuller one "
                        f"({'; '.join(words)}); write this benchmark elsewhere with --out FILE, or replace it "
                        f"with --force")


# --- after training: evaluation and every figure (the same for both frameworks) -------

def evaluation_figures(backend, build, args, registry, mnist, device, model=None, predict_note="") -> dict:
    """Predict the 10,000 test images with ex1/model1, then write its record and figures into a temporary folder.

    ``backend`` is torch_lab or keras_lab; ``build(entry, args)`` builds a model when none is given.
    """
    import tempfile
    import time

    from common import cli, experiment, outputs  # matplotlib: imported here, as at the start of a real run

    entry = next(e for e in registry if e.id == "ex1/model1")
    split = experiment.make_split(mnist, None, 0.1, entry.dataset)
    if model is None:
        model = build(entry, args)
    epochs = entry.report_epochs
    # Placeholder curves of a full run's length: the figures' cost, not their values, is measured.
    history = {"loss": [0.5 / (e + 1) for e in range(epochs)], "accuracy": [1 - 0.1 / (e + 1) for e in range(epochs)],
               "val_loss": [0.6 / (e + 1) for e in range(epochs)],
               "val_accuracy": [1 - 0.12 / (e + 1) for e in range(epochs)], "seconds": [1.0] * epochs}
    # A default run of the exercise script (--list: parsed without checking an output folder).
    run_args = cli.parse_args(entry.script.path, entry.id, entry.script.epochs, argv=["--list"])
    run_args.seed, run_args.batch_size = args.seed, args.batch_size
    t0 = time.perf_counter()
    probs = backend.predict(model, split.x_test, args.batch_size)
    t1 = time.perf_counter()
    record = outputs.make_record(run_args, split, entry.name, backend.run_facts(model), epochs, 0.0, history, probs)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        outputs.write_outputs(record, split, out)
        t3 = time.perf_counter()
    result = {"model": entry.id, "n_test": len(split.x_test), "seconds": round(t3 - t0, 3),
              "predict_s": round(t1 - t0, 3), "record_s": round(t2 - t1, 3), "figures_s": round(t3 - t2, 3),
              "what": f"{backend.__name__}.predict{predict_note}, common.outputs.make_record and write_outputs "
                      f"(loss and accuracy curves, confusion matrix, ten worst images, record) into a temporary folder"}
    print(f"evaluation + figures, {entry.id}, {len(split.x_test):,} test images: {result['seconds']:.2f} s "
          f"(predict {result['predict_s']:.2f}, record {result['record_s']:.2f}, figures {result['figures_s']:.2f})",
          flush=True)
    return result
