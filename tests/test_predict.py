"""predict.py's framework-free half (issue 34, item 5): image files converted as the data set needs, every
conversion said; images too large, records of any shape and model names that are no exercise refused in one
line; re-measuring checks the data's digest. The model itself is stood in for by a fake backend here
(tests/test_trained_models.py reloads real ones)."""
import json
import struct
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from common import data as datasets
from common import predict
from common.errors import UserError
from common.experiment import make_split
from common.scripts import ScriptInfo
from tests.helpers import assert_one_line_error, make_tiny_data, run_script


def rgba(size=(40, 40), ink=(0, 0, 0)) -> Image.Image:
    """A digit-like bar of colour ``ink`` on a fully transparent background (transparent pixels are black, as
    most drawing programs store them)."""
    pixels = np.zeros((*size, 4), dtype=np.uint8)
    pixels[8:32, 16:24] = (*ink, 255)
    return Image.fromarray(pixels, "RGBA")


def saved(image: Image.Image, path, **options):
    image.save(path, **options)
    return path


def test_a_black_digit_on_transparent_becomes_a_light_digit_on_black(tmp_path):
    """issue 34: convert("L") dropped the alpha channel: the black digit on its (black, transparent) ground became
    an all-black image, which got a confident wrong answer."""
    pixels, said = predict.load_image(saved(rgba(ink=(0, 0, 0)), tmp_path / "black.png"), "mnist")
    assert pixels.shape == (28, 28, 1)
    assert pixels[14, 14, 0] > 200 and pixels[2, 2, 0] < 30  # the digit light, the ground black: MNIST's way
    assert "transparency composited on white (the drawing is dark)" in said and any("inverted" in s for s in said)

    pixels, said = predict.load_image(saved(rgba(ink=(255, 255, 255)), tmp_path / "white.png"), "mnist")
    assert pixels[14, 14, 0] > 200 and pixels[2, 2, 0] < 30
    assert "transparency composited on black (the drawing is light)" in said and not any("inverted" in s for s in said)

    grey_alpha = rgba(ink=(0, 0, 0)).convert("LA")  # grey with alpha: the same
    pixels, said = predict.load_image(saved(grey_alpha, tmp_path / "la.png"), "mnist")
    assert pixels[14, 14, 0] > 200 and pixels[2, 2, 0] < 30

    pixels, said = predict.load_image(saved(rgba(ink=(200, 0, 0)), tmp_path / "cifar.png"), "cifar10")
    assert pixels.shape == (32, 32, 3) and tuple(pixels[1, 1]) == (255, 255, 255)  # CIFAR-10: on white
    assert "transparency composited on white" in said


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    """issue 34: a 16-bit PNG was clipped to 0/255."""
    levels = np.array([0, 256, 16384, 32768, 49152, 65535], dtype=np.uint16)
    image = np.repeat(np.repeat(levels[None, :], 32, axis=0), 6, axis=1)[:, :32]  # 32x32: not resized
    path = saved(Image.fromarray(image), tmp_path / "grey16.png")
    assert Image.open(path).mode.startswith("I")
    pixels, said = predict.load_image(path, "cifar10")  # CIFAR-10: no inversion to reason about
    row = pixels[0, :, 0]
    assert [row[2], row[8], row[14], row[20], row[26], row[31]] == [0, 1, 64, 128, 191, 255]
    assert any("16-bit grey scaled to 8 bits" in s for s in said)


def test_every_conversion_is_said(tmp_path):
    rng = np.random.default_rng(0)
    photo = saved(Image.fromarray(rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)), tmp_path / "photo.jpg")
    _, said = predict.load_image(photo, "mnist")
    assert "colour to grey" in said and "resized from 40x50 to 28x28 (aspect ratio not kept)" in said
    _, said = predict.load_image(saved(Image.fromarray(np.zeros((28, 28), np.uint8)), tmp_path / "as_is.png"), "mnist")
    assert said == []
    cmyk = saved(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), tmp_path / "cmyk.jpg")
    pixels, said = predict.load_image(cmyk, "cifar10")
    assert "CMYK to RGB" in said and pixels[16, 16, 0] > 200 and pixels[16, 16, 1] < 60
    frames = [Image.new("L", (28, 28), v) for v in (10, 200)]
    animated = tmp_path / "animated.gif"
    frames[0].save(animated, save_all=True, append_images=frames[1:])
    pixels, said = predict.load_image(animated, "mnist")
    assert "first of 2 frames" in said and "palette colours" in said and pixels.max() < 30
    for line in said:
        assert ": " not in line  # the output line is "<file> (<conversions>): <classes>"


def png_header(width: int, height: int) -> bytes:
    """A PNG file that declares ``width`` x ``height`` pixels (its pixel data is cut short: never decoded)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [20000, 8000])  # over PIL's own bomb limit; over ours only (64 megapixels)
def test_an_image_too_large_to_be_a_photo_is_one_line(tmp_path, side):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(side, side))
    with pytest.raises(UserError, match="too large to be a photo"):
        predict.load_image(path, "mnist")


@pytest.mark.parametrize("name", ["keras/lab3", "pytorch/torch_lab", "ex9/model1", "ex1", "ex1/", "lab3"])
def test_only_exercises_name_a_model(name):
    with pytest.raises(UserError, match="name a model as exN/MODEL"):
        predict.find_script("keras", name)
    info, model, output = predict.find_script("keras", "ex2/model7-bf16")
    assert (info.path.name, model, output, info.dataset) == ("ex2_cifar10.py", "model7", "model7-bf16", "cifar10")
    with pytest.raises(UserError, match="has no model model2; its models: model1, model5"):
        predict.find_script("keras", "ex2/model2")


def test_keras_lab_is_not_an_exercise_script(tmp_path):
    """issue 34: keras/predict.py keras/lab3 globbed keras_*.py, found keras_lab.py, imported TensorFlow and ended
    in a traceback."""
    assert_one_line_error(run_script("keras/predict.py", "keras/lab3", "--out", tmp_path), "name a model as exN/MODEL")


RECORD = {"model": "model4", "framework": "pytorch", "test_accuracy": 0.5, "n_test": 100, "batch_size": 128,
          "settings": {}, "precision": "fp32", "device": "cpu", "seed": 0, "limit": None, "val_split": 0.1,
          "test_set": "all 100", "data_sha256": None}


@pytest.mark.parametrize("text, fragment", [
    ("[1, 2]", "not a record (a JSON list"),
    ('"record"', "not a record (a JSON str"),
    (json.dumps({k: v for k, v in RECORD.items() if k != "n_test"}), "has no 'n_test'"),
    (json.dumps({**RECORD, "n_test": [100]}), "'n_test' is list [100], not a whole number"),
    (json.dumps({**RECORD, "test_accuracy": "50%"}), "'test_accuracy' is str '50%', not a number"),
    (json.dumps({**RECORD, "batch_size": True}), "'batch_size' is bool"),
    (json.dumps({**RECORD, "settings": ["weights"]}), "'settings' is list"),
    (json.dumps({**RECORD, "precision": "int8"}), "'precision' is 'int8'"),
    (json.dumps({**RECORD, "limit": 0}), "out of range"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ('{"model": "model4", "n_test": 1' + "0" * 5000, "cannot be read"),
])
def test_a_record_of_any_shape_is_one_line(tmp_path, text, fragment):
    path = tmp_path / "model4.json"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        predict.read_record(path)
    assert fragment in str(error.value) and "\n" not in str(error.value)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(UserError, match="cannot be read"):
        predict.read_record(path)


def test_a_malformed_record_stops_predict_in_one_line_before_any_framework_loads(tmp_path):
    model_file = tmp_path / "models" / "ex1" / "pytorch" / "model4.pt"
    model_file.parent.mkdir(parents=True)
    model_file.write_bytes(b"not looked at: the record fails first")
    record = tmp_path / "results" / "ex1" / "pytorch" / "model4.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({**RECORD, "test_accuracy": {"value": 0.5}}))
    assert_one_line_error(run_script("pytorch/predict.py", "ex1/model4", "--out", tmp_path),
                          "'test_accuracy' is dict")


class Perfect:
    """A backend whose model answers the labels of ``y`` (a fixed set of test images), with certainty."""

    def __init__(self, y):
        self.y = y

    def predict(self, model, images, batch_size):
        probs = np.full((len(images), 10), 1e-6)
        probs[np.arange(len(images)), self.y[:len(images)]] = 1 - 9e-6
        return probs


def test_remeasuring_checks_the_datas_digest(tiny_data, tmp_path, capsys):
    """issue 34: on other data of the same size, re-measuring said "another machine or library version"."""
    split = make_split(datasets.load("mnist", tiny_data), None, 0.1)
    record = {**RECORD, "test_accuracy": 1.0, "data_sha256": split.digest}
    backend, options = Perfect(split.y_test), SimpleNamespace(data_dir=str(tiny_data))
    predict.remeasure(backend, None, record, "mnist", options)
    out = capsys.readouterr().out
    assert "test accuracy 100.00%" in out and "the record says 100.00%" in out and "other data" not in out

    other = make_tiny_data(tmp_path / "other", seed=5)  # the same files and sizes, other pixels and labels
    predict.remeasure(backend, None, record, "mnist", SimpleNamespace(data_dir=str(other)))
    out = capsys.readouterr().out
    assert "other data: the record was measured on data of digest sha256:" in out
    assert "another machine" not in out

    predict.remeasure(backend, None, {**record, "data_sha256": None, "test_accuracy": 0.5}, "mnist", options)
    assert "does not state its data's digest, so the data cannot be checked" in capsys.readouterr().out

    with pytest.raises(UserError, match="has 10 test images, the record was measured on 100"):
        predict.remeasure(backend, None, {**record, "limit": 10}, "mnist", options)


def test_the_builder_is_the_scripts_own():
    """A script's MODELS dict (keras ex3's model10 is model9's builder), else its function of the model's name."""
    def model1():
        return "model1 built"
    named = SimpleNamespace(__file__="ex1_mnist.py", model1=model1)
    table = SimpleNamespace(__file__="ex3.py", MODELS={"model10": model1})
    assert predict.model_builder(named, "model1") is model1
    assert predict.model_builder(table, "model10") is model1
    with pytest.raises(UserError, match="no function builds model9"):
        predict.model_builder(named, "model9")


def test_the_builder_gets_the_options_when_it_takes_them(tmp_path):
    """ex4's builders take the run's options; the others take none. (A stand-in script: the real ones import
    their framework, which this framework-free test session must not.)"""
    script = tmp_path / "ex4_resnet.py"
    script.write_text("def plain():\n    return 'plain'\n\ndef resnet(args):\n    return f'resnet {args.image_size}'\n\n"
                      "MODELS = {'Plain': plain, 'MyResNet': resnet}\n")
    info = ScriptInfo(script, "ex4", "pytorch", "cifar10", {"Plain": 20, "MyResNet": 20})
    assert predict.builder(info, "Plain", SimpleNamespace())() == "plain"
    assert predict.builder(info, "MyResNet", SimpleNamespace(image_size=64))() == "resnet 64"
