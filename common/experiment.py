"""One flow for every run: load arrays -> build -> train -> predict -> write.

The exercise script builds the model in its framework's code; the
framework-specific rest lives in a *backend* module (``pytorch/torch_lab.py``
or ``keras/keras_lab.py``): ``setup(args)``, ``build(make, args)`` (the
script's model on the device, compiled for Keras), ``describe(model)`` and
``augmentation(model, augment)`` (the record's words for them),
``train(model, split, epochs, args, checkpoint, augment, tensorboard)``,
``predict(model, images, batch_size)`` and ``save_model(model, path)``;
everything here sees numpy arrays only.

Several processes (PyTorch under torchrun, Keras workers of a
MultiWorkerMirroredStrategy) all run this flow: all of them train and predict
(the backend shares the work and sums the metrics), and only the main one
(``backend.is_main()``) prints and writes the figures and the record;
``backend.distribution()`` says what went into the
record's "distributed" (None for one process on one device).

Before the framework loads, ``common.preflight`` checks that every output of
every model can be written (and, in the repository, that no fuller record
would be replaced); the main process then holds each model's lock
(``common.lock``) until its outputs are written, as one set.
"""
from __future__ import annotations

import datetime
import functools
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from common import data as datasets
from common import evaluation, figures, layout, lock, preflight
from common.atomic import interrupts_deferred, replace_together, write_json, write_text
from common.precision import describe as describe_precision
from common.checkpoint import Checkpoint
from common.errors import UserError
from common.exercise import Exercise


@dataclass
class Split:
    """The arrays one run trains and evaluates on, all uint8 images."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    validation: str             # what x_val is, in words
    test_note: str
    source: str

    @functools.cached_property
    def digest(self) -> str:
        """These arrays' identity (computed once): a checkpoint made on other data is refused by it."""
        return datasets.digest([self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test])


def make_split(ds, limit: Optional[int], val_split: float) -> Split:
    x_train, y_train, x_test, y_test = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    if limit:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
    test_note = ds.test_note if not limit else f"first {len(x_test):,} test images (--limit {limit})"
    if val_split > 0:
        n_val = max(1, int(round(len(x_train) * val_split)))
        if n_val >= len(x_train):
            raise UserError(f"--val-split {val_split} leaves no training images out of {len(x_train)}")
        # The last images, as Keras' validation_split takes them: the same in both frameworks.
        return Split(x_train[:-n_val], y_train[:-n_val], x_train[-n_val:], y_train[-n_val:], x_test, y_test,
                     ds.class_names, f"last {n_val:,} training images ({val_split:g} of the training set)",
                     test_note, ds.source)
    return Split(x_train, y_train, x_test, y_test, x_test, y_test, ds.class_names,
                 "the test set (--val-split 0, as the original report did)", test_note, ds.source)


def run(exercise: Exercise, args, import_backend) -> None:
    # Data first: a missing or corrupt file fails in a second, before the framework loads.
    split = make_split(datasets.load(exercise.dataset, args.data_dir), args.limit, args.val_split)
    outputs = {name: output_name(name, args) for name in args.models}
    preflight.check(exercise, args, split, outputs)  # before the long work: every output can be written
    backend = import_backend()
    device = backend.setup(args)
    print(f"{exercise.framework} on {device}; data: {split.source}", flush=True)
    print(f"train {len(split.x_train):,} | validation: {split.validation} | test: {split.test_note}", flush=True)
    # One run per model at a time, held by the process that writes (the others of torchrun or a multi-worker
    # strategy only train).
    locks = {layout.lock(args.out, exercise.id, exercise.framework, output): f"{exercise.id} {exercise.framework} "
             f"{output} under {args.out}" for output in outputs.values()} if backend.is_main() else {}
    with lock.all_held(locks):
        for name in args.models:
            train_one(exercise, args, backend, device, split, name)
        if exercise.after_training is not None and backend.is_main():
            exercise.after_training(backend, args, split, Path(args.out))
    backend.finish()


def output_name(name: str, args) -> str:
    """Where a run's outputs go: the model's name, or ``model7-bf16`` for a precision asked for by name, so
    such a run stands beside the default one instead of replacing it."""
    variant = getattr(args, "precision", "auto")
    return f"{name}-{variant}" if variant in ("bf16", "fp16") else name


def train_one(exercise, args, backend, device, split: Split, name: str) -> dict:
    epochs = args.epochs or exercise.report_epochs(name)
    output = output_name(name, args)
    model = backend.build(exercise.builder(name, args), args)
    params = backend.trainable_params(model)
    augment = exercise.augment.get(name)
    described = describe(exercise, backend, model, augment, args)
    print(f"\n== {exercise.id} {exercise.framework} {name}: {described['architecture']} "
          f"({params:,} trainable parameters, {epochs} epoch{'s' if epochs != 1 else ''}) ==", flush=True)

    checkpoint = Checkpoint(layout.checkpoint_dir(args.out, exercise.id, exercise.framework, output),
                            run_signature(exercise, args, split, name, described["architecture"],
                                          backend.run_precision()), args.resume, epochs,
                            restart=getattr(args, "resume_or_restart", False))
    start = time.perf_counter()
    tensorboard = Path(args.tensorboard) / exercise.id / exercise.framework / output \
        if getattr(args, "tensorboard", None) else None
    history = backend.train(model, split, epochs, args, checkpoint, augment, tensorboard)
    # Time of this process's training, plus that of the epochs done before a resume.
    train_time = time.perf_counter() - start + history.pop("resumed_seconds", 0.0)
    diverged = evaluation.first_non_finite(history)
    if diverged:
        raise UserError(f"{name}: training diverged ({diverged[0]} is {diverged[2]} at epoch {diverged[1]}); "
                        f"nothing was written: try a lower --lr")

    load = os.getloadavg() if hasattr(os, "getloadavg") else None  # other work slows training: say how much
    probs = backend.predict(model, split.x_test, args.batch_size)  # in every process: it may be shared
    if not np.isfinite(probs).all():  # a finite training loss does not make finite predictions
        raise UserError(f"{name}: the test predictions hold NaN or infinite numbers (the test loss would be NaN); "
                        f"nothing was written")
    if not backend.is_main():
        backend.barrier()  # the main process writes the outputs
        return None
    record = make_record(exercise, args, device, backend.versions(), split, name, described, epochs,
                         params, train_time, history, probs, distributed=backend.distribution(),
                         precision=backend.run_precision())
    # A resumed run's time adds this process's to the epochs saved before; its device and load are this process's.
    record["resumed_after_epoch"] = checkpoint.resumed_after
    record["host"] = {"cpu_count": os.cpu_count(),
                      "load_average_1_5_15min_after_training": [round(x, 2) for x in load] if load else None}
    model_path = layout.trained_model(args.out, exercise.id, exercise.framework, output)
    record["trained_model"] = model_path.relative_to(Path(args.out)).as_posix()  # git-ignored: not committed
    with interrupts_deferred():
        write_outputs(record, split, args.out, save_model=lambda path: backend.save_model(model, path))
    backend.barrier()
    print(f"{output}: test accuracy {record['test_accuracy']:.2%}, loss {record['test_loss']:.4f} "
          f"on {record['n_test']:,} test images; trained in {train_time:.1f} s "
          f"-> {layout.record(args.out, exercise.id, exercise.framework, output)}", flush=True)
    return record


def describe(exercise, backend, model, augment, args) -> dict:
    """The record's words for a built model: its layers (or ex4's description of its options), its augmentation."""
    augmentation = backend.augmentation(model, augment)
    architecture = exercise.describe(args) if exercise.describe else backend.describe(model)
    if augmentation:
        architecture += f" + augmentation ({augmentation})"
    return {"architecture": architecture, "augmentation": augmentation}


def run_signature(exercise, args, split, name, architecture: str, precision: str = "fp32") -> dict:
    """What must match for a checkpoint to be resumed (epochs may grow)."""
    # The precision only when it is not fp32: checkpoints made before --precision existed were fp32.
    return {**({"precision": precision} if precision != "fp32" else {}),
            "exercise": exercise.id, "framework": exercise.framework, "model": name,
            "architecture": architecture, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "limit": args.limit, "val_split": args.val_split, "n_train": int(len(split.x_train)), "data": split.digest,
            "deterministic": bool(getattr(args, "deterministic", False)),
            "settings": dict(getattr(args, "record_settings", {}))}


def reduced_settings(exercise, args, split, name, epochs, precision="fp32") -> list:
    """Every way this run differs from the report's setting, in words."""
    notes = []
    if precision != "fp32":
        notes.append(f"{describe_precision(precision)} (the report trained in the frameworks' default fp32)")
    report_epochs = exercise.report_epochs(name)
    if epochs < report_epochs:
        notes.append(f"{epochs} of the report's {report_epochs} epochs" if exercise.report_states_epochs else
                     f"{epochs} of the default {report_epochs} epochs (the report does not state its own)")
    if args.limit:
        notes.append(f"--limit {args.limit}: first {args.limit:,} images only")
    official = datasets.SPECS[exercise.dataset]["n_test"]
    if len(split.x_test) < official and not args.limit:
        notes.append(f"{len(split.x_test):,} of {official:,} test images")
    for key, note in getattr(args, "reduced_notes", {}).items():
        notes.append(note)
    return notes


def make_record(exercise, args, device, versions, split, name, described, epochs, params,
                train_time, history, probs, distributed=None, precision="fp32") -> dict:
    output = output_name(name, args)  # model7, or model7-bf16 for a precision asked for by name
    predicted = probs.argmax(axis=1)
    matrix = evaluation.confusion_matrix(split.y_test, predicted, len(split.class_names))
    return {
        "exercise": exercise.id,
        "framework": exercise.framework,
        "model": output,
        "variant_of": name if output != name else None,  # model7-bf16: model7 in bf16
        "architecture": described["architecture"],
        "augmentation": described["augmentation"],
        "note": exercise.notes.get(name) or None,
        "reduced": reduced_settings(exercise, args, split, name, epochs, precision),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else exercise.script] + sys.argv[1:]),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, **versions},
        "device": device,
        "precision": precision,
        "distributed": distributed,  # None: one process on one device; else processes/replicas, batch split
        "seed": args.seed,
        "deterministic": bool(getattr(args, "deterministic", False)),
        "epochs": epochs,
        "report_epochs": exercise.report_epochs(name),
        "batch_size": args.batch_size,
        "optimizer": {"name": "Adam", "lr": args.lr},
        "settings": dict(getattr(args, "record_settings", {})),
        "data": split.source,
        "data_sha256": split.digest,  # of the arrays used: training, validation and test, after --limit
        "n_train": int(len(split.x_train)),
        "n_val": int(len(split.x_val)),
        "val_split": args.val_split,
        "validation": split.validation,
        "n_test": int(len(split.x_test)),
        "test_set": split.test_note,
        "limit": args.limit,
        "trainable_params": int(params),
        "train_time_s": round(float(train_time), 2),
        "test_loss": evaluation.cross_entropy(probs, split.y_test),
        "test_accuracy": evaluation.accuracy(probs, split.y_test),
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
        "class_names": list(split.class_names),
        "confusion_matrix": matrix.tolist(),
        "ten_worst": evaluation.ten_worst(probs, split.y_test, split.class_names),
    }


def figure_files(record: dict, out) -> dict:
    """{kind: (path, write)} of the loss, accuracy and confusion-matrix figures, drawn from the record alone."""
    paths = layout.model_outputs(out, record["exercise"], record["framework"], record["model"])
    title = f"{record['framework']} {record['model']} ({record['exercise']})"
    if record["reduced"]:
        title += "\nreduced: " + "; ".join(record["reduced"])
    val_label = "test" if record["validation"].startswith("the test set") else "validation"
    # Read here, not in the writers: a record lacking one of them fails before any folder is made.
    history, matrix = record["history"], np.array(record["confusion_matrix"])
    names, matrix_title = record["class_names"], f"{title}\ntest set: {record['test_set']}"
    files = {metric: (paths[metric], lambda path, metric=metric: figures.plot_history(
        history, metric, title, path, val_label=val_label)) for metric in ("loss", "accuracy")}
    files["confusion_matrix"] = (paths["confusion_matrix"],
                                 lambda path: figures.plot_confusion_matrix(matrix, names, matrix_title, path))
    return files


def write_figures(record: dict, out) -> dict:
    """The figures of ``figure_files``, replaced together: ``python -m common.redraw`` calls this to redraw
    them from committed records (no data, no model). Returns the output paths."""
    files = figure_files(record, out)
    replace_together(files)
    return {kind: path for kind, (path, _) in files.items()}


def write_ten_worst(record: dict, split: Split, folder: Path) -> None:
    folder.mkdir()
    rows = ["rank,index,predicted,actual,prob_actual"]
    for row in record["ten_worst"]:
        figures.save_image(split.x_test[row["index"]], folder / f"{row['rank']}.png")
        rows.append(f"{row['rank']},{row['index']},{row['predicted']},{row['actual']},{row['prob_actual']:.6g}")  # 6 significant digits: 3.2e-07, not 0.000000
    write_text(folder / "ten_worst.csv", "\n".join(rows) + "\n")


def write_outputs(record: dict, split: Split, out, save_model=None) -> None:
    """A model's figures, ten worst, trained model and record, replaced as one set ({kind: (path, write)}): the
    previous set stays whole until every new file is written (common.atomic.replace_together). The record goes
    last: its presence means the run completed. ``save_model(path)`` writes the trained model in its
    framework's format."""
    paths = layout.model_outputs(out, record["exercise"], record["framework"], record["model"])
    model = {} if save_model is None else \
        {"trained_model": (layout.trained_model(out, record["exercise"], record["framework"], record["model"]),
                           save_model)}
    replace_together({**figure_files(record, out),
                      "ten_worst": (paths["ten_worst"], lambda folder: write_ten_worst(record, split, folder)),
                      **model,
                      "record": (paths["record"], lambda path: write_json(path, record))})
