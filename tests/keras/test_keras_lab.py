"""The Keras scripts' models and keras/keras_lab.py, in-process (this file's process never imports torch)."""
import sys

import numpy as np
import pytest

from tests.helpers import REPO, assert_progress_lines_for_steps_2_and_3_of_4, read_record
from tests.scripts import input_shape, load_script, run_main

sys.path.insert(0, str(REPO / "keras"))
import keras_lab  # noqa: E402
from keras_lab import keras  # noqa: E402

from tests.parameter_counts import PARAMS  # noqa: E402

EX1 = load_script("keras/ex1_mnist.py")
SCRIPTS = {path: load_script(path) for path in PARAMS if path.startswith("keras/") and "ex4" not in path}


class Args:
    lr, seed, device, batch_size, precision, deterministic = 1e-3, 0, "cpu", 32, "fp32", False


@pytest.mark.parametrize("script, name", [(path, name) for path, module in SCRIPTS.items()
                                          for name in module.MODELS])
def test_every_model_has_the_reports_parameter_count_and_outputs_probabilities(script, name):
    module = SCRIPTS[script]
    assert list(module.MODELS) == list(module.EPOCHS)  # the table the campaign reads names the same models
    model = module.MODELS[name]()
    assert keras_lab.trainable_params(model) == PARAMS[script][name]
    probs = model.predict(np.zeros((2, *input_shape(module)), np.float32), verbose=0)
    assert probs.shape == (2, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_the_architecture_text_is_read_from_the_built_model_as_records_hold_it():
    assert keras_lab.layer_words(EX1.model3()) == ("Conv 32/5 - Conv 64/5 - BatchNorm - MaxPool 2/s1 - Conv 128/5 - "
                                                "Flatten - Dense 10 softmax")
    assert keras_lab.augmentation(EX1.model3()) is None


def test_layers_follow_the_report_without_added_activations():
    model = EX1.model2()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert all(c.activation.__name__ == "linear" and c.padding == "valid" for c in convs)
    pool = next(layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D))
    assert pool.strides == (1, 1)


def test_cpu_device_is_reported(capsys):
    keras_lab.setup(Args)
    assert "keras on CPU" in capsys.readouterr().out and "CPU" in keras_lab.run_facts(EX1.lab3())["device"]


def test_a_long_epoch_reports_progress_between_the_epoch_lines(monkeypatch, capsys, tiny_data, tmp_path):
    from common import progress

    monkeypatch.setattr(progress, "INTERVAL_S", 0.0)  # every step counts as "long"
    # 71 images: 7 validate, 64 train in 4 steps of 16.
    assert run_main(EX1, "--models", "model1", "--limit", 71, "--batch-size", 16, "--epochs", 1, "--out", tmp_path,
                    "--data-dir", tiny_data, monkeypatch=monkeypatch) == 0
    assert_progress_lines_for_steps_2_and_3_of_4(capsys.readouterr().out)


@pytest.mark.parametrize("features, expected", [(["avx512_bf16"], "mixed_bfloat16"), (["amx_bf16"], "mixed_bfloat16"),
                                                ([], "float32")])
def test_auto_precision_on_a_cpu_follows_its_bf16_instructions(monkeypatch, features, expected):
    monkeypatch.setattr(keras_lab.precision, "cpu_bf16_features", lambda: features)
    try:
        keras_lab.set_precision("auto", [])
        assert keras.mixed_precision.global_policy().name == expected
    finally:
        keras_lab.set_precision("fp32", [])


def test_bf16_computes_the_layers_in_bf16_and_the_output_and_loss_in_float32(monkeypatch, tiny_data, tmp_path):
    try:
        keras_lab.set_precision("bf16", [])
        model = EX1.model4()
        assert model.layers[0].compute_dtype == "bfloat16" and model.layers[0].kernel.dtype == "float32"
        assert model.layers[-1].compute_dtype == "float32"
        probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
        assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-5)
        assert run_main(EX1, "--models", "model4", "--limit", 80, "--epochs", 1, "--precision", "bf16",
                        "--out", tmp_path, "--data-dir", tiny_data, monkeypatch=monkeypatch) == 0
        record = read_record(tmp_path, "ex1", "keras", "model4-bf16")
        assert record["precision"] == "bf16" and np.isfinite(record["history"]["loss"][0])
    finally:
        keras_lab.set_precision("fp32", [])
