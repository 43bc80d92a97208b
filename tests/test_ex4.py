"""Exercise 4 (ResNet50 transfer learning) through the real scripts, as a user runs them.

No machine here can download ImageNet weights: runs use --weights none, and
the --weights imagenet path is checked to fail in one clear line. That check
points the weights caches to an empty folder and routes HTTP(S) through a
closed local port, so it fails at once even on a machine with internet and
never downloads anything.
"""
import json
from pathlib import Path

import pytest

from tests.helpers import REPO, assert_one_line_error, expected_files, read_record, run_script
from tests.parameter_counts import FROZEN_RESNET50, KERAS_CONV_BIASES, RESNET50
from tests.scripts import parse

SCRIPTS = {"pytorch": "pytorch/ex4_resnet.py", "keras": "keras/ex4_resnet.py"}
SMOKE = ("--weights", "none", "--limit", "64", "--epochs", "1", "--batch-size", "32")
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
              "NO_PROXY": "", "no_proxy": ""}


def list_params(framework, *options) -> dict:
    result = run_script(SCRIPTS[framework], "--list", *options)
    assert result.returncode == 0, result.stderr
    return {row.split()[0]: int(row.split()[1].replace(",", "")) for row in result.stdout.splitlines()[1:]}


@pytest.mark.parametrize("framework", list(SCRIPTS))
def test_one_model_end_to_end_without_pretrained_weights(framework, tiny_data, tmp_path):
    result = run_script(SCRIPTS[framework], *SMOKE, "--models", "MyResNetDA", "--out", tmp_path, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    for path in expected_files(tmp_path, "ex4", framework, "MyResNetDA"):
        assert path.exists() and path.stat().st_size > 0, path
    record = read_record(tmp_path, "ex4", framework, "MyResNetDA")
    assert record["settings"] == {"weights": "none", "freeze_backbone": False, "image_size": 32}
    assert "no pretrained weights (--weights none)" in record["reduced"]
    # The report gives no epochs for ResNet50: the label must not invent "the report's 20".
    epochs_note = f"{record['epochs']} of the default 20 epochs (the report does not state its own)"
    assert epochs_note in record["reduced"] and not any("report's" in note for note in record["reduced"])
    assert "no pretrained weights" in record["architecture"] and record["augmentation"]
    assert record["trainable_params"] == RESNET50[framework]
    assert (record["n_train"], record["n_test"], record["batch_size"]) == (58, 64, 32)


@pytest.mark.parametrize("framework, cached_file", [
    ("pytorch", "hub/checkpoints/resnet50-0676ba61.pth"),
    ("keras", "models/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
])
def test_imagenet_weights_offline_give_one_line_naming_the_cache_and_weights_none(framework, cached_file,
                                                                                  tiny_data, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {**NO_NETWORK, "TORCH_HOME": str(cache), "KERAS_HOME": str(cache)}
    result = run_script(SCRIPTS[framework], "--weights", "imagenet", *SMOKE[2:], "--models", "MyResNet",
                        "--out", tmp_path / "out", data_dir=tiny_data, env=env, timeout=180)
    assert_one_line_error(result, "ImageNet weights", "could not be downloaded", "https://", str(cache / cached_file)
                          if framework == "pytorch" else str((cache / cached_file).parent), "--weights none")
    assert not (tmp_path / "out" / "results").exists()


@pytest.mark.parametrize("framework", list(SCRIPTS))
def test_bad_weights_and_image_size_give_one_line_before_loading_anything(framework, tiny_data, tmp_path):
    missing = tmp_path / "missing.weights.h5"
    assert_one_line_error(run_script(SCRIPTS[framework], "--weights", missing, "--out", tmp_path, data_dir=tiny_data),
                          f"--weights {missing}", "no such file")
    assert_one_line_error(run_script(SCRIPTS[framework], "--image-size", "16", "--out", tmp_path, data_dir=tiny_data),
                          "--image-size", "16")


def test_keras_refuses_a_weights_file_it_cannot_read(tiny_data, tmp_path):
    weights = tmp_path / "resnet50.pth"
    weights.write_bytes(b"not keras")
    assert_one_line_error(run_script(SCRIPTS["keras"], "--weights", weights, "--out", tmp_path, data_dir=tiny_data),
                          "--weights", ".h5")


@pytest.mark.parametrize("framework", list(SCRIPTS))
def test_list_shows_the_trainable_parameters_with_and_without_freezing(framework):
    params = RESNET50[framework]
    assert list_params(framework, "--weights", "none") == {"MyResNet": params, "MyResNetDA": params}
    frozen = FROZEN_RESNET50
    assert list_params(framework, "--weights", "none", "--freeze-backbone") == {"MyResNet": frozen, "MyResNetDA": frozen}


def test_keras_and_pytorch_counts_differ_only_by_the_keras_convolution_biases():
    # One bias per output channel of every ResNet50 convolution in Keras, none in torchvision: the stem
    # (64), three convolutions per bottleneck block (width, width, out) and one shortcut per stage (out).
    stages = [(64, 256, 3), (128, 512, 4), (256, 1024, 6), (512, 2048, 3)]  # width, out, blocks
    biases = 64 + sum(blocks * (2 * width + out) + out for width, out, blocks in stages)
    assert RESNET50["keras"] - RESNET50["pytorch"] == biases == KERAS_CONV_BIASES == 26_560


# --- checks the framework test processes run on their own ex4 script (tests/keras, tests/torch) ---------

def check_settings_reach_the_record_and_the_reduced_list(module, tmp_path):
    args = parse(module, "--weights", "None", "--freeze-backbone", "--image-size", "64", "--out", tmp_path)
    assert args.record_settings == {"weights": "none", "freeze_backbone": True, "image_size": 64}
    assert set(args.reduced_notes) == {"weights", "freeze_backbone", "image_size"}
    text = module.architecture_words(args)
    assert "frozen" in text and "64x64" in text and "no pretrained weights" in text
    args = parse(module, "--out", tmp_path)  # back to the defaults: nothing reduced
    assert args.record_settings == {"weights": "imagenet", "freeze_backbone": False, "image_size": 32}
    assert args.reduced_notes == {}
    assert "every layer trainable" in module.architecture_words(args)


def check_committed_records_name_the_architecture_the_script_builds_for_their_settings(module, tmp_path):
    framework = Path(module.__file__).parent.name
    records = [json.loads(path.read_text()) for path in sorted((REPO / "results" / "ex4" / framework).glob("*.json"))]
    assert {record["model"] for record in records} == set(module.MODELS)
    for record in records:
        settings = record["settings"]
        args = parse(module, "--weights", settings["weights"], "--image-size", settings["image_size"],
                     "--out", tmp_path, *["--freeze-backbone"] * settings["freeze_backbone"])
        text = module.architecture_words(args)
        assert record["architecture"] in (text, f"{text} + augmentation ({record['augmentation']})")
        assert (record["augmentation"] is not None) == (record["model"] == "MyResNetDA")
