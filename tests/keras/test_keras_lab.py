"""Keras backend, in-process (this file's process never imports torch)."""
import sys

import numpy as np
import pytest

from tests.helpers import REPO, assert_progress_lines_for_steps_2_and_3_of_4, tiny_split
from tests.scripts import load_script

sys.path.insert(0, str(REPO / "keras"))
import keras_lab  # noqa: E402
from keras_lab import keras  # noqa: E402

from common.architectures import model_params  # noqa: E402

EX1 = load_script("keras/ex1_mnist.py")
REPORT = {"model1": 216650, "model2": 657162, "model3": 545162, "model4": 303242, "model5": 1118474}


class Args:
    lr, seed, device, batch_size = 1e-3, 0, "cpu", 32


@pytest.mark.parametrize("name", list(EX1.MODELS))
def test_built_models_have_the_reports_parameter_count_and_shapes(name):
    model_def = EX1.MODELS[name]
    model = keras_lab.build(model_def, (28, 28, 1), 10, Args)
    expected = REPORT.get(name, model_params(model_def, (28, 28, 1)))
    assert keras_lab.trainable_params(model) == model_params(model_def, (28, 28, 1)) == expected
    probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert probs.shape == (2, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_layers_follow_the_report_without_added_activations():
    model = keras_lab.build(EX1.MODELS["model2"], (28, 28, 1), 10, Args)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert all(c.activation.__name__ == "linear" and c.padding == "valid" for c in convs)
    pool = next(layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D))
    assert pool.strides == (1, 1)


def test_cpu_device_is_reported():
    assert "CPU" in keras_lab.setup(Args) or "GPU" in keras_lab.setup(Args)


def test_a_long_epoch_reports_progress_between_the_epoch_lines(monkeypatch, capsys):
    from common import progress

    monkeypatch.setattr(progress, "INTERVAL_S", 0.0)  # every step counts as "long"

    class TrainArgs(Args):
        batch_size = 16

    keras_lab.setup(TrainArgs)
    model = keras_lab.build(EX1.MODELS["model1"], (28, 28, 1), 10, TrainArgs)
    keras_lab.train(model, EX1.MODELS["model1"], tiny_split(), 1, TrainArgs)
    assert_progress_lines_for_steps_2_and_3_of_4(capsys.readouterr().out)
