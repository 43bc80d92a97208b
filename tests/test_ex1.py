"""Exercise 1 end to end on tiny data: every file written, with sane content."""
import csv

import numpy as np
import pytest

from tests.helpers import expected_files, read_record, run_script

RECORD_KEYS = {"exercise", "framework", "model", "versions", "device", "seed", "epochs", "batch_size", "optimizer",
               "n_train", "n_val", "n_test", "trainable_params", "train_time_s", "test_loss", "test_accuracy",
               "history", "confusion_matrix", "ten_worst", "reduced"}


def check_run(out, exercise, framework, model, epochs, n_train, n_val, n_test):
    for path in expected_files(out, exercise, framework, model):
        assert path.exists() and path.stat().st_size > 0, path
    record = read_record(out, exercise, framework, model)
    assert RECORD_KEYS <= set(record)
    assert (record["exercise"], record["framework"], record["model"]) == (exercise, framework, model)
    assert (record["n_train"], record["n_val"], record["n_test"]) == (n_train, n_val, n_test)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(record["history"][key]) == epochs and all(np.isfinite(record["history"][key]))
    assert 0 <= record["test_accuracy"] <= 1 and record["test_loss"] > 0 and record["train_time_s"] > 0
    matrix = np.array(record["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == n_test
    assert np.isclose(np.trace(matrix) / n_test, record["test_accuracy"])
    worst = record["ten_worst"]
    assert len(worst) == min(10, n_test - np.trace(matrix))
    assert [row["rank"] for row in worst] == list(range(1, len(worst) + 1))
    assert all(row["predicted"] != row["actual"] for row in worst)
    assert [row["prob_actual"] for row in worst] == sorted(row["prob_actual"] for row in worst)
    folder = out / "ten_worst" / exercise / framework / model
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(f"{row['rank']}.png" for row in worst)
    with open(folder / "ten_worst.csv") as f:
        assert [int(row["index"]) for row in csv.DictReader(f)] == [row["index"] for row in worst]
    assert f"{epochs} of the report's 20 epochs" in record["reduced"]
    assert not list(out.rglob("*.tmp")), "temporary files left behind"
    return record


def test_pytorch_ex1_every_model_end_to_end(tiny_data, tmp_path):
    result = run_script("pytorch/ex1_mnist.py", "--limit", "200", "--epochs", "2", "--out", tmp_path,
                        data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("epoch   2/2") == 6  # one progress line per epoch, every model
    for model in ("model1", "old_model1", "model2", "model3", "model4", "lab3"):
        record = check_run(tmp_path, "ex1", "pytorch", model, 2, 180, 20, 100)
        assert record["optimizer"] == {"name": "Adam", "lr": 0.001} and record["batch_size"] == 128
        assert record["versions"]["torch"]


def test_keras_ex1_end_to_end(tiny_data, tmp_path):
    result = run_script("keras/ex1_mnist.py", "--models", "model1", "model4", "lab3", "--limit", "200",
                        "--epochs", "2", "--out", tmp_path, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    for model in ("model1", "model4", "lab3"):
        record = check_run(tmp_path, "ex1", "keras", model, 2, 180, 20, 100)
        assert record["versions"]["tensorflow"] and record["versions"]["keras"]
        assert "CPU" in record["device"] or "GPU" in record["device"]


def test_val_split_zero_validates_on_the_test_set_and_rerun_overwrites(tiny_data, tmp_path):
    stale = tmp_path / "ten_worst" / "ex1" / "pytorch" / "model1" / "99.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    result = run_script("pytorch/ex1_mnist.py", "--models", "model1", "--val-split", "0", "--limit", "200",
                        "--epochs", "1", "--out", tmp_path, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    record = check_run(tmp_path, "ex1", "pytorch", "model1", 1, 200, 100, 100)
    assert record["validation"].startswith("the test set")
    assert not stale.exists(), "a re-run must replace the ten-worst folder whole"


@pytest.mark.parametrize("script", ["pytorch/ex1_mnist.py", "keras/ex1_mnist.py"])
def test_divergence_stops_with_one_line_and_writes_nothing(script, tiny_data, tmp_path):
    result = run_script(script, "--models", "model1", "--lr", "1e30", "--limit", "200", "--epochs", "2",
                        "--out", tmp_path, data_dir=tiny_data)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "diverged" in result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "plots").exists()
