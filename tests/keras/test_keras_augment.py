"""Keras augmentation layers (the scripts' Random* preprocessing layers), in-process (this process never imports torch)."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers import REPO, fake_cifar_split, recording_augment
from tests.scripts import load_script

sys.path.insert(0, str(REPO / "keras"))
import keras_lab  # noqa: E402
from keras_lab import keras  # noqa: E402

EX3 = load_script("keras/ex3_augmentation.py")


def noise_batch(n, seed=0):
    """n copies of one random image (float, 0-255): any geometric transform changes it."""
    image = np.random.default_rng(seed).integers(0, 256, (1, 32, 32, 3)).astype(np.float32)
    return np.repeat(image, n, axis=0)


def augmentation_of(make):
    """The model's preprocessing layers alone, as the figures take them."""
    return keras.Sequential([layer for layer in make().layers if isinstance(layer, keras_lab.AUGMENTATION_LAYERS)])


def test_model9_layers_give_identical_images_different_transforms_in_training():
    keras.utils.set_random_seed(0)
    augment = augmentation_of(EX3.model9)
    out = keras.ops.convert_to_numpy(augment(noise_batch(8), training=True))
    assert out.shape == (8, 32, 32, 3)
    assert len({out[i].tobytes() for i in range(8)}) == 8, "one random transform per image, not per batch"


@pytest.mark.parametrize("name", ["model8", "model9"])
def test_augmentation_layers_are_the_identity_at_inference(name):
    augment = augmentation_of(EX3.MODELS[name])
    x = noise_batch(4) + np.arange(4, dtype=np.float32)[:, None, None, None]
    assert np.array_equal(keras.ops.convert_to_numpy(augment(x, training=False)), x)


def test_models_put_the_augmentation_in_front_and_predict_without_it():
    model = EX3.model8()
    kinds = [type(layer).__name__ for layer in model.layers[:4]]
    assert kinds == ["RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip"]
    x = noise_batch(2) / 255
    assert np.array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))  # inference: no randomness


def test_augment_examples_for_the_figures_is_uint8_seeded_and_per_image():
    images = noise_batch(6).astype(np.uint8)
    out = keras_lab.augment_examples(EX3.model8, images, seed=3)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.array_equal(out, keras_lab.augment_examples(EX3.model8, images, seed=3))
    assert not np.array_equal(out[0], out[1])


@pytest.mark.parametrize("name, words", [("model8", "flip, shift 0.1, rotation 10 deg, zoom 0.2"),
                                         ("model9", "flip, shift 0.1"), ("model10", "flip, shift 0.1")])
def test_the_records_augmentation_words_are_read_from_the_layers(name, words):
    model = EX3.MODELS[name]()
    assert keras_lab.augmentation(model) == words
    assert " + augmentation" not in keras_lab.layer_words(model) and keras_lab.layer_words(model).startswith("Conv 64/5")


# --- the augmentation figures, with a stand-in for the augmentation --------------

@pytest.mark.parametrize("models, figures", [
    (["model8"], {"dataset_og.png", "model8_dataset_augmented.png"}),
    (["model9"], {"dataset_og.png", "model9_dataset_augmented.png"}),
    (["model10"], {"dataset_og.png", "model9_dataset_augmented.png"}),
    (["model9", "model10"], {"dataset_og.png", "model9_dataset_augmented.png"}),
])
def test_figures_only_for_the_models_that_ran_from_the_same_images(models, figures, tmp_path, monkeypatch):
    calls, split = [], fake_cifar_split()
    monkeypatch.setattr(EX3, "augment_examples", recording_augment(calls))
    EX3.augmentation_figures(split, SimpleNamespace(models=models, seed=5, out=tmp_path))
    folder = tmp_path / "plots" / "ex3" / "keras"
    assert {p.name for p in folder.iterdir()} == figures
    for augmentation, images, seed in calls:
        assert np.array_equal(images, split.x_train[:len(images)]) and seed == 5
    assert [call[0] for call in calls] == [EX3.MODELS[EX3.FIGURE_OF[m]]
                                           for m in dict.fromkeys(EX3.FIGURE_OF[m] for m in models)]


def test_figures_cope_with_fewer_training_images_than_examples(tmp_path, monkeypatch):
    monkeypatch.setattr(EX3, "augment_examples", recording_augment([]))
    EX3.augmentation_figures(fake_cifar_split(3), SimpleNamespace(models=["model8"], seed=0, out=tmp_path))
    assert (tmp_path / "plots" / "ex3" / "keras" / "model8_dataset_augmented.png").exists()
