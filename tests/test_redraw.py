"""Redrawing figures from records (common.redraw) and the loss axis it draws (common.figures).

The records here are TEST FIXTURES (made-up numbers, see tests/test_report.py), never real runs.
"""
import subprocess

import numpy as np
import pytest

from common import comparisons, figures, report_inputs
from tests.helpers import PYTHON, REPO, assert_one_line_error, read_only
from tests.test_report import fixture_record, write_record

SPIKE = {"loss": [1.9, 1.5, 1.3, 1.2], "val_loss": [1.8, 1.4, 280.0, 1.1]}  # shaped like Keras ex4 MyResNet's


@pytest.mark.parametrize("values, log", [
    (SPIKE["loss"] + SPIKE["val_loss"], True),  # one spike would flatten the rest
    ([0.4, 0.1, 0.03, 0.01, 0.005], False),     # falling towards zero: a curve to read as it is
    ([2.0, 1.5, 1.4, 1.6], False),
    ([1.0, 0.0, 50.0], False),                  # a log axis cannot show 0
    ([], False),
])
def test_loss_goes_on_a_log_axis_only_when_a_spike_would_flatten_it(values, log):
    assert figures.needs_log_scale(values) is log


@pytest.mark.parametrize("metric, history, scale", [
    ("loss", SPIKE, "log"),
    ("loss", {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "linear"),
    ("accuracy", {"accuracy": [0.1, 0.9], "val_accuracy": [0.01, 0.95]}, "linear"),  # accuracy never
])
def test_plot_history_axis_scale(metric, history, scale, monkeypatch, tmp_path):
    drawn = {}
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.update(ax=fig.axes[0]))
    figures.plot_history(history, metric, "title", tmp_path / "x.png")
    assert drawn["ax"].get_yscale() == scale
    assert ("log scale" in drawn["ax"].get_ylabel()) == (scale == "log")


def redraw(out, *args):
    return subprocess.run([PYTHON, "-m", "common.redraw", "--results", str(out / "results"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_redraw_writes_every_records_figures_and_names_a_bad_record(tmp_path):
    write_record(tmp_path, fixture_record("ex4", "keras", "MyResNet", history={**SPIKE, "accuracy": [.3] * 4,
                                                                                "val_accuracy": [.4] * 4}))
    write_record(tmp_path, fixture_record("ex1", "pytorch", "model1"))
    bad = tmp_path / "results" / "ex1" / "pytorch" / "model2.json"
    bad.write_text('{"exercise": "ex1"')  # cut short
    no_history = fixture_record("ex2", "keras", "model7")
    del no_history["history"]
    write_record(tmp_path, no_history)
    stale = tmp_path / "plots" / "ex1" / "pytorch" / "model1_loss.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an old drawing")

    result = redraw(tmp_path)

    assert result.returncode == 1, result.stderr  # some records could not be drawn
    assert "model2.json" in result.stderr and "model7.json" in result.stderr and "Traceback" not in result.stderr
    assert "redrew the figures of 2 of 4 records" in result.stdout
    for ex, fw, model in (("ex4", "keras", "MyResNet"), ("ex1", "pytorch", "model1")):
        for kind in ("loss", "accuracy", "confusion_matrix"):
            png = tmp_path / "plots" / ex / fw / f"{model}_{kind}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert not list((tmp_path / "plots").rglob("*.tmp")) and not (tmp_path / "plots" / "ex2").exists()


def test_redraw_only_some_records(tmp_path):
    for model in ("model1", "model2"):
        write_record(tmp_path, fixture_record("ex1", "keras", model))
    write_record(tmp_path, fixture_record("ex1", "pytorch", "model1"))

    result = redraw(tmp_path, "--only", "ex1/keras/model2", "ex1/pytorch")

    assert result.returncode == 0, result.stderr
    drawn = sorted(p.relative_to(tmp_path / "plots").as_posix() for p in (tmp_path / "plots").rglob("*_loss.png"))
    assert drawn == ["ex1/keras/model2_loss.png", "ex1/pytorch/model1_loss.png"]


@pytest.mark.parametrize("args, fragment", [
    (["--only", "ex9"], "--only ex9: no record there"),
    (["--results", "no/such/folder"], "no such folder"),
])
def test_redraw_bad_input_is_one_line(args, fragment, tmp_path):
    write_record(tmp_path, fixture_record("ex1", "keras", "model1"))
    result = subprocess.run([PYTHON, "-m", "common.redraw", "--results", str(tmp_path / "results"), *args],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert_one_line_error(result, fragment)


def test_save_grid_keeps_its_signature_and_labels_rows(tmp_path):
    from matplotlib.image import imread
    images = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    figures.save_grid(images, tmp_path / "plain.png", ["cat"] * 8, columns=4)  # as the scripts call it
    figures.save_grid(images, tmp_path / "labelled.png", ["cat"] * 8, columns=4, row_labels=["original", "augmented"])
    plain, labelled = imread(tmp_path / "plain.png"), imread(tmp_path / "labelled.png")
    assert labelled.shape[1] > plain.shape[1]  # the labels take room on the left
    assert plain.shape[0] >= 2 * 100  # two rows, each taller than the report's 100-pixel grid


def test_figures_that_cannot_be_written_are_one_line(tmp_path):
    write_record(tmp_path, fixture_record("ex1", "keras", "model1"))
    (tmp_path / "plots").mkdir()
    with read_only(tmp_path / "plots"):
        result = redraw(tmp_path)
    assert_one_line_error(result, "model1_loss.png", "cannot be written (Read-only file system)")
    assert result.returncode == 2
    assert not list((tmp_path / "plots").rglob("*"))


def test_redraw_draws_the_comparison_figures_and_deletes_those_no_longer_made(tmp_path):
    for framework in ("keras", "pytorch"):
        write_record(tmp_path, fixture_record("ex1", framework, "model1"))
    folder = comparisons.folder(tmp_path)
    folder.mkdir(parents=True)
    stale = folder / "ex9_gone_comparison.png"
    stale.write_bytes(b"a figure of a comparison no record makes")

    result = redraw(tmp_path)

    assert result.returncode == 0, result.stderr
    assert "redrew the figures of 2 of 2 records and 1 comparison figure\n" in result.stdout
    assert "ex9_gone_comparison.png: deleted (no longer compared)" in result.stdout and not stale.exists()
    [made] = comparisons.every(report_inputs.context(tmp_path / "results", tmp_path))
    assert made.filename == "ex1_model1_keras_vs_pytorch_comparison.png"
    assert comparisons.png_comment(folder / made.filename) == made.comment
