"""Keras exercise 4 in-process: the built ResNet50 against the report's parameter count, and the --weights loading paths.

No ImageNet file exists here: the loading code is checked with weights files
this test saves itself from a freshly built model, in both formats Keras
reads: .weights.h5 (Keras 3's save_weights) and the legacy .h5 layout of the
ImageNet file keras.applications downloads.
"""
import keras
import numpy as np
import pytest

from common.errors import UserError
from tests.parameter_counts import FROZEN_RESNET50, RESNET50
from tests.scripts import load_script, parse
from tests.test_ex4 import (check_committed_records_name_the_architecture_the_script_builds_for_their_settings,
                             check_settings_reach_the_record_and_the_reduced_list)

ex4 = load_script("keras/ex4_resnet.py")
PARAMS = RESNET50["keras"]


def build(tmp_path, *options, model="MyResNet"):
    """The model as the script builds it for these command-line options."""
    return ex4.MODELS[model](parse(ex4, *options, "--out", tmp_path))


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def backbone(model):
    (resnet,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return resnet


def same_weights(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) > 300 and all(np.array_equal(x, y) for x, y in zip(wa, wb))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A freshly built model and its backbone saved as a .weights.h5 file."""
    folder = tmp_path_factory.mktemp("weights")
    model = build(folder, "--weights", "none")
    path = folder / "resnet50.weights.h5"
    backbone(model).save_weights(path)
    return model, path


def test_built_model_matches_the_registry_and_outputs_probabilities(fresh):
    model, _ = fresh
    assert trainable(model) == PARAMS
    assert backbone(model).trainable and len(model.trainable_weights) == 53 * 4 + 2  # conv, BN: 2 each
    probs = model.predict(np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32), verbose=0)
    assert probs.shape == (2, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_input_gets_the_imagenet_preprocessing_of_0_255_images_and_upsampling_on_request(tmp_path):
    model = build(tmp_path, "--weights", "none", "--image-size", "64", "--freeze-backbone",
                             model="MyResNetDA")
    assert backbone(model).input_shape == (None, 64, 64, 3)
    assert model.get_layer("upsample")(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 64, 64, 3)
    x = np.random.default_rng(1).random((2, 4, 4, 3), dtype=np.float32)
    expected = keras.applications.resnet50.preprocess_input(x * 255.0)
    assert np.allclose(keras.ops.convert_to_numpy(model.get_layer("imagenet_preprocess")(x)), expected, atol=1e-4)
    names = [type(layer).__name__ for layer in model.layers]
    assert names.index("RandomFlip") < names.index("Resizing")  # augmentation on the 32x32 images
    assert "RandomTranslation" in names
    assert trainable(model) == FROZEN_RESNET50 == 20_490


def test_weights_h5_path_loads_every_backbone_weight_into_a_new_model(fresh, tmp_path):
    original, path = fresh
    loaded = build(tmp_path, "--weights", str(path))
    assert same_weights(backbone(original), backbone(loaded))
    assert trainable(loaded) == PARAMS


def test_legacy_h5_path_the_imagenet_files_format_loads_too(fresh, tmp_path):
    original, _ = fresh
    path = tmp_path / "resnet50_notop.h5"
    backbone(original).save(path)  # Keras' legacy HDF5 format, as the ImageNet file is written
    loaded = build(tmp_path, "--weights", str(path), "--image-size", "48")
    assert same_weights(backbone(original), backbone(loaded))


def test_weights_of_another_architecture_or_a_corrupt_file_are_refused(tmp_path):
    small = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3)])
    other = tmp_path / "small.weights.h5"
    small.save_weights(other)
    with pytest.raises(UserError, match=r"not the weights of a Keras ResNet50\(include_top=False\)"):
        build(tmp_path, "--weights", str(other))

    corrupt = tmp_path / "corrupt.weights.h5"
    corrupt.write_bytes(b"not an HDF5 file")
    with pytest.raises(UserError, match="not the weights of a Keras ResNet50"):
        build(tmp_path, "--weights", str(corrupt))


def test_settings_reach_the_record_and_the_reduced_list(tmp_path):
    check_settings_reach_the_record_and_the_reduced_list(ex4, tmp_path)


def test_committed_records_name_the_architecture_the_script_builds_for_their_settings(tmp_path):
    check_committed_records_name_the_architecture_the_script_builds_for_their_settings(ex4, tmp_path)
