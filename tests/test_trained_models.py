"""Trained models a user can load and use: saved by every run, reloaded by predict.py in a fresh process to the
record's accuracy, classifying image files; TensorBoard event files; one-line errors for bad input."""
import json

import numpy as np
import pytest

from common import layout
from tests.helpers import assert_one_line_error, make_tiny_data, read_record, run_script
from tests.test_predict import png_header

RUNS = {"keras": ("keras/ex1_mnist.py", "model4"), "pytorch": ("pytorch/ex1_mnist.py", "model4")}


@pytest.fixture(scope="module", params=list(RUNS))
def trained(request, tiny_data, tmp_path_factory):
    """One tiny run per framework, with TensorBoard on: (framework, out, tensorboard folder)."""
    framework = request.param
    script, model = RUNS[framework]
    out = tmp_path_factory.mktemp(f"trained-{framework}")
    result = run_script(script, "--models", model, "--limit", "200", "--epochs", "2", "--precision", "fp32",
                        "--out", out, "--tensorboard", out / "runs", data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    return framework, out


def predict(framework, *args, out, data_dir):
    return run_script(f"{framework}/predict.py", *args, "--out", out, data_dir=data_dir)


def test_every_run_saves_its_trained_model_beside_its_record(trained):
    framework, out = trained
    path = layout.trained_model(out, "ex1", framework, "model4")
    assert path.is_file() and path.stat().st_size > 100_000
    assert read_record(out, "ex1", framework, "model4")["trained_model"] == f"models/ex1/{framework}/{path.name}"
    assert not list(path.parent.glob(".*"))  # no temporary file left


def test_the_saved_model_reloads_in_a_fresh_process_to_the_records_accuracy(trained, tiny_data):
    framework, out = trained
    record = read_record(out, "ex1", framework, "model4")
    result = predict(framework, "ex1/model4", out=out, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    assert f"test accuracy {record['test_accuracy']:.2%}" in result.stdout
    assert f"the record says {record['test_accuracy']:.2%}" in result.stdout
    assert "flip a few images" not in result.stdout  # the same images, the same answers


def test_predict_classifies_image_files_of_any_size_and_colour(trained, tiny_data, tmp_path):
    """Each line says the conversions its image went through (issue 34: alpha was dropped without a word, a
    16-bit image clipped)."""
    from PIL import Image

    framework, out = trained
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)).save(tmp_path / "colour.jpg")
    Image.fromarray(rng.integers(0, 100, (28, 28), dtype=np.uint8)).save(tmp_path / "grey.png")  # dark: kept
    drawing = np.zeros((28, 28, 4), dtype=np.uint8)
    drawing[6:22, 12:16] = (0, 0, 0, 255)  # a black bar on a transparent ground
    Image.fromarray(drawing, "RGBA").save(tmp_path / "transparent.png")
    Image.fromarray((rng.integers(0, 65536, (28, 28))).astype(np.uint16)).save(tmp_path / "deep.png")
    images = ["colour.jpg", "grey.png", "transparent.png", "deep.png"]
    result = predict(framework, "ex1/model4", *(tmp_path / name for name in images), "--top", "2",
                     out=out, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(tmp_path))]  # (and the device's)
    assert len(lines) == 4 and all(line.startswith(str(tmp_path / name)) for line, name in zip(lines, images))
    assert " (colour to grey; resized from 40x50 to 28x28 (aspect ratio not kept)" in lines[0]
    assert "(used as it is)" in lines[1]
    assert "transparency composited on white (the drawing is dark)" in lines[2] and "; inverted" in lines[2]
    assert "16-bit grey scaled to 8 bits" in lines[3]
    probabilities = [float(part.split()[-1]) for part in lines[1].split(": ", 1)[1].split(", ")]
    assert len(probabilities) == 2 and 1 >= probabilities[0] >= probabilities[1] >= 0


def test_remeasuring_on_other_data_says_so(trained, tmp_path):
    """issue 34: on other data of the same size, 0.00% against the record's number was blamed on "another machine
    or library version"."""
    framework, out = trained
    other = make_tiny_data(tmp_path / "other", seed=5)
    result = predict(framework, "ex1/model4", out=out, data_dir=other)
    assert result.returncode == 0, result.stderr
    assert "other data: the record was measured on data of digest sha256:" in result.stdout
    assert "another machine" not in result.stdout


def test_tensorboard_event_files_hold_both_curves(trained):
    framework, out = trained
    folder = out / "runs" / "ex1" / framework / "model4"
    for run in ("train", "validation"):
        assert list((folder / run).glob("events.out.tfevents.*")), f"{run}: no event file"


def test_bad_input_is_one_line(trained, tiny_data, tmp_path):
    framework, out = trained
    other = "pytorch" if framework == "keras" else "keras"
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not an image")
    assert_one_line_error(predict(framework, "ex1/model4", not_an_image, out=out, data_dir=tiny_data),
                          "not an image")
    huge = tmp_path / "huge.png"  # declares 20000x20000 pixels: PIL's DecompressionBombError
    huge.write_bytes(png_header(20000, 20000))
    assert_one_line_error(predict(framework, "ex1/model4", huge, out=out, data_dir=tiny_data), "too large")
    assert_one_line_error(predict(framework, "ex1/model2", out=out, data_dir=tiny_data),
                          "no saved model", f"python {framework}/ex1_mnist.py --models model2")
    assert_one_line_error(predict(framework, "ex1/nothing", out=out, data_dir=tiny_data), "has no model nothing")
    # model4's file named as model2's: another architecture.
    (out / "results" / "ex1" / framework / "model2.json").write_text(
        json.dumps({**read_record(out, "ex1", framework, "model4"), "model": "model2"}))
    assert_one_line_error(predict(framework, "ex1/model2", "--model-file",
                                  layout.trained_model(out, "ex1", framework, "model4"), out=out, data_dir=tiny_data),
                          "another architecture")
    # A file of the other framework.
    wrong = tmp_path / f"model4{layout.MODEL_SUFFIX[other]}"
    wrong.write_bytes(b"PK\x03\x04 not a model of this framework" if other == "keras" else b"\x80\x02 pickle")
    assert_one_line_error(predict(framework, "ex1/model4", "--model-file", wrong, out=out, data_dir=tiny_data),
                          f"not a {'Keras model file' if framework == 'keras' else 'PyTorch state_dict'}")
