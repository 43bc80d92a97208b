"""The run of one exercise script, around its own training code: the data, then each model's run.

    data = experiment.load_data(DATASET, args)      # uint8 arrays; every output checked writable
    with experiment.ModelRun(args, data, name, facts) as run:
        history = ...train for run.epochs, saving to run.checkpoint...
        run.write(history, probabilities, save_model)

``ModelRun`` holds the model's lock (one run per model and --out at a time),
opens its checkpoint (``--resume`` continues it) and, in ``write``, refuses a
diverged run, then writes the record and every output as one set, with
Ctrl-C deferred until the set is whole. Framework-free: the scripts pass
numpy arrays and plain values.
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from common import data as datasets
from common import evaluation, layout, lock, preflight
from common.interrupts import interrupts_deferred
from common.checkpoint import Checkpoint
from common.cli import epochs_of
from common.errors import UserError
from common.outputs import make_record, output_name, write_outputs


@dataclass
class Split:
    """The arrays one run trains and evaluates on, all uint8 images (N, H, W, C), the same in both frameworks."""
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
    dataset: str = ""

    @functools.cached_property
    def digest(self) -> str:
        """These arrays' identity (computed once): a checkpoint made on other data is refused by it."""
        return datasets.digest([self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test])


def make_split(ds, limit: Optional[int], val_split: float, dataset: str = "") -> Split:
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
                     test_note, ds.source, dataset)
    return Split(x_train, y_train, x_test, y_test, x_test, y_test, ds.class_names,
                 "the test set (--val-split 0, as the original report did)", test_note, ds.source, dataset)


def load_data(dataset: str, args) -> Split:
    """The training, validation and test arrays of ``dataset`` for these options; then, before any
    training, a check that every model's outputs can be written and that no fuller record is replaced."""
    split = make_split(datasets.load(dataset, args.data_dir), args.limit, args.val_split, dataset)
    preflight.check(args, split, {name: output_name(name, args.precision) for name in args.models})
    print(f"data: {split.source}\ntrain {len(split.x_train):,} | validation: {split.validation} | "
          f"test: {split.test_note}", flush=True)
    return split


def run_signature(args, split, name: str, architecture: str, precision: str = "fp32") -> dict:
    """What must match for a checkpoint to be resumed (epochs may grow)."""
    # Always the precision: common.checkpoint counts a checkpoint made before it was recorded as fp32.
    return {"precision": precision, "exercise": args.exercise, "framework": args.framework, "model": name,
            "architecture": architecture, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "limit": args.limit, "val_split": args.val_split, "n_train": int(len(split.x_train)), "data": split.digest,
            "deterministic": bool(args.deterministic), "settings": dict(args.record_settings)}


class ModelRun(contextlib.AbstractContextManager):
    """One model's run: its lock, checkpoint and epochs; ``write`` ends it with the record and outputs.

    ``facts``: what the framework's lab says about the built model and this process (``lab.run_facts``):
    architecture, augmentation, trainable_params, device, precision, versions, distributed, is_main.
    Under torchrun every process trains; only the main one (``facts["is_main"]``) locks and writes.
    """

    def __init__(self, args, split: Split, name: str, facts: dict, note: Optional[str] = None):
        self.args, self.split, self.name, self.facts, self.note = args, split, name, facts, note
        self.output = output_name(name, args.precision)
        self.epochs = epochs_of(args, name)
        self.where = (args.out, args.exercise, args.framework, self.output)
        # Again, now that the framework has chosen the precision (--precision auto): the same experiment only.
        preflight.refuse_replacing(layout.record(*self.where),
                                   preflight.run_settings(args, self.epochs, split, facts["precision"]), args.force)
        self.lock = lock.held(layout.lock(*self.where), f"{args.exercise} {args.framework} {self.output} under "
                              f"{args.out}") if facts["is_main"] else contextlib.nullcontext()
        self.checkpoint, self.record = None, None
        # --tensorboard DIR: this model's event files go to DIR/<ex>/<framework>/<model>/
        self.tensorboard = Path(args.tensorboard) / args.exercise / args.framework / self.output \
            if args.tensorboard else None

    def __enter__(self):
        self.lock.__enter__()
        args, facts = self.args, self.facts
        self.checkpoint = Checkpoint(layout.checkpoint_dir(*self.where),
                                     run_signature(args, self.split, self.name, facts["architecture"],
                                                   facts["precision"]),
                                     args.resume, self.epochs, restart=args.resume_or_restart)
        print(f"\n== {self.args.exercise} {self.args.framework} {self.name}: {self.facts['architecture']} "
              f"({self.facts['trainable_params']:,} trainable parameters, {self.epochs} "
              f"epoch{'s' if self.epochs != 1 else ''}) ==", flush=True)
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)

    def write(self, history: dict, probs, save_model=None) -> Optional[dict]:
        """Refuse a diverged run (nothing written), else write the record and every output as one set.
        ``history``: per-epoch lists, those of a resumed checkpoint's epochs first; ``probs``: the test
        images' class probabilities; ``save_model(path)``: the framework's own saving."""
        # This process's training time, plus that of the epochs done before a resume.
        resumed_seconds = sum(history["seconds"][:self.checkpoint.resumed_after or 0])
        train_time = time.perf_counter() - self.start + resumed_seconds
        load = os.getloadavg() if hasattr(os, "getloadavg") else None  # other work slows training: say how much
        diverged = evaluation.first_non_finite(history)
        if diverged:
            raise UserError(f"{self.name}: training diverged ({diverged[0]} is {diverged[2]} at epoch {diverged[1]}); "
                            f"nothing was written: try a lower --lr")
        probs = np.asarray(probs, dtype=np.float64)
        if not np.isfinite(probs).all():  # a finite training loss does not make finite predictions
            raise UserError(f"{self.name}: the test predictions hold NaN or infinite numbers (the test loss would "
                            f"be NaN); nothing was written")
        if not self.facts["is_main"]:
            return None
        args = self.args
        record = make_record(args, self.split, self.name, self.facts, self.epochs, train_time, history, probs,
                             self.note)
        record["resumed_after_epoch"] = self.checkpoint.resumed_after
        record["host"] = {"cpu_count": os.cpu_count(),
                          "load_average_1_5_15min_after_training": [round(x, 2) for x in load] if load else None}
        model_path = layout.trained_model(args.out, args.exercise, args.framework, self.output)
        record["trained_model"] = model_path.relative_to(Path(args.out)).as_posix()  # git-ignored: not committed
        with interrupts_deferred():
            write_outputs(record, self.split, args.out, save_model=save_model)
        print(f"{self.output}: test accuracy {record['test_accuracy']:.2%}, loss {record['test_loss']:.4f} "
              f"on {record['n_test']:,} test images; trained in {train_time:.1f} s "
              f"-> {layout.record(args.out, args.exercise, args.framework, self.output)}", flush=True)
        self.record = record
        return record
