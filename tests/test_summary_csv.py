"""results/summary.csv (common.summary_csv) holds the records, one row each, beside the report's figures.

The records of the first test are TEST FIXTURES (made-up numbers, see tests/test_report.py); the last
test reads the committed records and CSV.
"""
import csv
import json

import pytest

from common import analysis, report_inputs, summary_csv
from tests.helpers import REPO
from tests.test_report import fixture_record, write_record


def parsed(text: str) -> list:
    return list(csv.DictReader(text.splitlines()))


def assert_row_is_the_record(row: dict, record: dict, reference: dict) -> None:
    assert (row["exercise"], row["framework"], row["model"]) == (record["exercise"], record["framework"],
                                                                record["model"])
    for name in ("epochs", "n_train", "n_test"):
        assert int(row[name]) == record[name], name
    assert row["precision"] == (record.get("precision") or "fp32")
    assert float(row["test_accuracy_pct"]) == pytest.approx(record["test_accuracy"] * 100, abs=1e-4)
    low, high = analysis.wilson_interval(analysis.correct_count(record), record["n_test"])
    assert (float(row["accuracy_low_pct"]), float(row["accuracy_high_pct"])) == pytest.approx(
        (low * 100, high * 100), abs=1e-4)
    assert float(row["test_loss"]) == record["test_loss"] and float(row["train_time_s"]) == record["train_time_s"]
    assert row["differences_from_report"] == "; ".join(record["reduced"])
    for column, name in (("report_test_accuracy_pct", "test_accuracy_pct"), ("report_test_loss", "test_loss"),
                         ("report_train_time_s", "train_time_s"), ("report_epochs", "epochs")):
        value = reference.get(name)
        assert row[column] == ("" if value is None else str(value)), column


def test_one_row_per_record_with_the_reports_figures_beside_it(tmp_path):
    write_record(tmp_path, fixture_record("ex1", "pytorch", "model1"))
    write_record(tmp_path, fixture_record("ex2", "keras", "model7-bf16", variant_of="model7", precision="bf16",
                                          n_test=1000, test_accuracy=0.64, reduced=["bf16 mixed precision"]))
    write_record(tmp_path, fixture_record("ex1", "keras", "model2", n_test=300, test_accuracy=101 / 300))
    ctx = report_inputs.context(tmp_path / "results", tmp_path, REPO)

    rows = parsed(summary_csv.text(ctx))

    assert list(rows[0]) == summary_csv.COLUMNS
    assert [(r["framework"], r["exercise"], r["model"]) for r in rows] == [  # the report's order: Keras first
        ("keras", "ex1", "model2"), ("keras", "ex2", "model7-bf16"), ("pytorch", "ex1", "model1")]
    for row in rows:
        key = (row["exercise"], row["framework"], row["model"])
        assert_row_is_the_record(row, ctx.record(key), ctx.reference.get(key) or {})
    assert rows[2]["report_test_accuracy_pct"] == "91.74" and rows[1]["report_test_accuracy_pct"] == ""
    assert rows[0]["test_accuracy_pct"] == "33.6667"  # 101 of 300 images


def test_the_committed_csv_equals_the_committed_records():
    reference = report_inputs.load_reference()
    rows = parsed((REPO / "results" / "summary.csv").read_text())
    records = {path: json.loads(path.read_text()) for path in sorted((REPO / "results").glob("ex*/*/*.json"))}
    assert len(rows) == len(records)
    by_key = {(r["exercise"], r["framework"], r["model"]): r for r in rows}
    for record in records.values():
        key = (record["exercise"], record["framework"], record["model"])
        assert_row_is_the_record(by_key[key], record, reference.get(key) or {})
