"""Keras augmentation layers (keras_lab.augmentation_layers), in-process (this process never imports torch)."""
import sys

import numpy as np
import pytest

from tests.helpers import REPO
from tests.scripts import load_script

sys.path.insert(0, str(REPO / "keras"))
import keras_lab  # noqa: E402
from keras_lab import keras  # noqa: E402

from common.architectures import Augmentation, model_params  # noqa: E402

EX2 = load_script("keras/ex2_cifar10.py")
EX3 = load_script("keras/ex3_augmentation.py")


class Args:
    lr, seed, device, batch_size = 1e-3, 0, "cpu", 32


def noise_batch(n, seed=0):
    """n copies of one random image (float, 0-255): any geometric transform changes it."""
    image = np.random.default_rng(seed).integers(0, 256, (1, 32, 32, 3)).astype(np.float32)
    return np.repeat(image, n, axis=0)


def test_model9_layers_give_identical_images_different_transforms_in_training():
    keras.utils.set_random_seed(0)
    augment = keras.Sequential(keras_lab.augmentation_layers(EX3.MODELS["model9"].augment))
    out = keras.ops.convert_to_numpy(augment(noise_batch(8), training=True))
    assert out.shape == (8, 32, 32, 3)
    assert len({out[i].tobytes() for i in range(8)}) == 8, "one random transform per image, not per batch"


@pytest.mark.parametrize("name", ["model8", "model9"])
def test_augmentation_layers_are_the_identity_at_inference(name):
    augment = keras.Sequential(keras_lab.augmentation_layers(EX3.MODELS[name].augment))
    x = noise_batch(4) + np.arange(4, dtype=np.float32)[:, None, None, None]
    assert np.array_equal(keras.ops.convert_to_numpy(augment(x, training=False)), x)


def test_models_put_the_augmentation_in_front_and_predict_without_it():
    model = keras_lab.build(EX3.MODELS["model8"], (32, 32, 3), 10, Args)
    kinds = [type(layer).__name__ for layer in model.layers[:4]]
    assert kinds == ["RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip"]
    x = noise_batch(2) / 255
    assert np.array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))  # inference: no randomness


def test_augment_examples_for_the_figures_is_uint8_seeded_and_per_image():
    images = noise_batch(6).astype(np.uint8)
    aug = EX3.MODELS["model8"].augment
    out = keras_lab.augment_examples(aug, images, seed=3)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.array_equal(out, keras_lab.augment_examples(aug, images, seed=3))
    assert not np.array_equal(out[0], out[1])


def test_scale_and_shear_are_refused():
    with pytest.raises(ValueError, match="PyTorch-only"):
        keras_lab.augmentation_layers(Augmentation(scale=(0.2, 1.2), shear=10))


@pytest.mark.parametrize("script, name", [("ex2", m) for m in EX2.MODELS] + [("ex3", m) for m in EX3.MODELS])
def test_every_cifar10_model_builds_with_the_registry_parameter_count(script, name):
    model_def = (EX2 if script == "ex2" else EX3).MODELS[name]
    model = keras_lab.build(model_def, (32, 32, 3), 10, Args)
    assert keras_lab.trainable_params(model) == model_params(model_def, (32, 32, 3))
    assert model.output_shape == (None, 10)
