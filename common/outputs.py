"""What a finished run leaves: its record, figures, ten worst images and trained model, written as one set.

``make_record`` turns a run's history and test predictions into the record
(``results/<ex>/<framework>/<model>.json``); ``write_outputs`` writes it with
the figures drawn from it, the ten worst images and the trained model, all
replaced together (common.atomic): the previous set stays whole until every
new file is written, and the record goes last, so its presence means the run
completed. ``write_figures`` redraws the figures of a committed record
(``python -m common.redraw``: no data, no model).
"""
from __future__ import annotations

import datetime
import platform
import sys
from pathlib import Path

import numpy as np

from common import data as datasets
from common import evaluation, figures, layout
from common.atomic import replace_together, write_json, write_text
from common import precision as precisions


def output_name(name: str, precision: str) -> str:
    """Where a run's outputs go: the model's name, or ``model7-bf16`` for a mixed precision asked for by name,
    so such a run stands beside the fp32 one instead of replacing it."""
    return f"{name}-{precision}" if precision in ("bf16", "fp16") else name


def reduced_settings(args, split, name: str, epochs: int, precision: str = "fp32") -> list:
    """Every way this run differs from the report's setting, in words."""
    notes = []
    if precision != "fp32":
        notes.append(f"{precisions.words(precision)} (the report trained in the frameworks' default fp32)")
    report_epochs = args.report_epochs[name]
    if epochs < report_epochs:
        # The report states its epochs for every exercise but the last (ResNet50), where 20 is this lab's choice.
        notes.append(f"{epochs} of the report's {report_epochs} epochs" if args.exercise != "ex4" else
                     f"{epochs} of the default {report_epochs} epochs (the report does not state its own)")
    if args.limit:
        notes.append(f"--limit {args.limit}: first {args.limit:,} images only")
    official = datasets.SPECS[split.dataset]["n_test"]
    if len(split.x_test) < official and not args.limit:
        notes.append(f"{len(split.x_test):,} of {official:,} test images")
    notes.extend(args.reduced_notes.values())
    return notes


def make_record(args, split, name: str, facts: dict, epochs: int, train_time: float, history: dict,
                probs: np.ndarray, note=None) -> dict:
    """The record of model ``name``'s run. ``facts``: what the framework's lab says about the model and
    this process (architecture, augmentation, trainable_params, device, precision, versions, distributed)."""
    precision = facts["precision"]
    output = output_name(name, args.precision)
    predicted = probs.argmax(axis=1)
    matrix = evaluation.confusion_matrix(split.y_test, predicted, len(split.class_names))
    return {
        "exercise": args.exercise,
        "framework": args.framework,
        "model": output,
        "variant_of": name if output != name else None,  # model7-bf16: model7 in bf16
        "architecture": facts["architecture"],
        "augmentation": facts["augmentation"],
        "note": note or None,
        "reduced": reduced_settings(args, split, name, epochs, precision),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else args.script] + sys.argv[1:]),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, **facts["versions"]},
        "device": facts["device"],
        "precision": precision,
        "distributed": facts["distributed"],  # None: one process on one device; else the processes, batch split
        "seed": args.seed,
        "deterministic": bool(args.deterministic),
        "epochs": epochs,
        "report_epochs": args.report_epochs[name],
        "batch_size": args.batch_size,
        "optimizer": {"name": "Adam", "lr": args.lr},
        "settings": dict(args.record_settings),
        "data": split.source,
        "data_sha256": split.digest,  # of the arrays used: training, validation and test, after --limit
        "n_train": int(len(split.x_train)),
        "n_val": int(len(split.x_val)),
        "val_split": args.val_split,
        "validation": split.validation,
        "n_test": int(len(split.x_test)),
        "test_set": split.test_note,
        "limit": args.limit,
        "trainable_params": int(facts["trainable_params"]),
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


def write_ten_worst(record: dict, split, folder: Path) -> None:
    folder.mkdir()
    rows = ["rank,index,predicted,actual,prob_actual"]
    for row in record["ten_worst"]:
        figures.save_image(split.x_test[row["index"]], folder / f"{row['rank']}.png")
        rows.append(f"{row['rank']},{row['index']},{row['predicted']},{row['actual']},{row['prob_actual']:.6g}")  # 6 significant digits: 3.2e-07, not 0.000000
    write_text(folder / "ten_worst.csv", "\n".join(rows) + "\n")


def write_outputs(record: dict, split, out, save_model=None) -> None:
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
