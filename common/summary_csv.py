"""results/summary.csv: one row per record, for students' own tables and spreadsheets.

Each row holds what the record says (epochs, images, precision, test accuracy with its 95% Wilson
interval, loss, training time, how the run differs from the report's settings) and, beside it, the
report's own figures for that model from common/reference_results.csv (blank where the report gives
none). Rebuilt by ``python -m common.report`` with the pages; standard library only.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from common import analysis
from common.report_inputs import Context

FILENAME = "summary.csv"
COLUMNS = ["exercise", "framework", "model", "epochs", "n_train", "n_test", "precision",
           "test_accuracy_pct", "accuracy_low_pct", "accuracy_high_pct", "test_loss", "train_time_s",
           "differences_from_report",
           "report_epochs", "report_test_accuracy_pct", "report_test_loss", "report_train_time_s"]
PERCENT_DIGITS = 4  # an accuracy on 300 test images moves in steps of 0.3333%: four decimals keep it exact enough


def path(results) -> Path:
    return Path(results) / FILENAME


def percent(fraction: float) -> float:
    return round(fraction * 100, PERCENT_DIGITS)


def row(ctx: Context, key) -> dict:
    record, reference = ctx.record(key), ctx.reference.get(key) or {}
    low, high = analysis.wilson_interval(analysis.correct_count(record), record["n_test"])
    return {
        "exercise": key[0], "framework": key[1], "model": key[2],
        "epochs": record["epochs"], "n_train": record["n_train"], "n_test": record["n_test"],
        # Records made before --precision existed hold no precision: they were trained in fp32.
        "precision": record.get("precision") or "fp32",
        "test_accuracy_pct": percent(record["test_accuracy"]),
        "accuracy_low_pct": percent(low), "accuracy_high_pct": percent(high),
        "test_loss": record["test_loss"], "train_time_s": record["train_time_s"],
        "differences_from_report": "; ".join(record["reduced"]),
        "report_epochs": reference.get("epochs"), "report_test_accuracy_pct": reference.get("test_accuracy_pct"),
        "report_test_loss": reference.get("test_loss"), "report_train_time_s": reference.get("train_time_s"),
    }


def rows(ctx: Context) -> list:
    """Every record, in the report's order (Keras first, then by exercise and the report's model order)."""
    return [row(ctx, key) for key in ctx.all_keys() if ctx.record(key)]


def text(ctx: Context) -> str:
    """The CSV, with "\\n" line endings on every platform, so a rebuild elsewhere changes no byte."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for values in rows(ctx):
        writer.writerow({name: "" if value is None else value for name, value in values.items()})
    return buffer.getvalue()
