"""Batched per-image augmentation (pytorch/augment.py), in-process (this process never imports TensorFlow)."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.helpers import REPO, fake_cifar_split, recording_augment
from tests.scripts import load_script

sys.path.insert(0, str(REPO / "pytorch"))
import torch_lab  # noqa: E402
from augment import RandomAffinePerImage as Augmentation  # noqa: E402
from augment import augment_batch  # noqa: E402

EX3 = load_script("pytorch/ex3_augmentation.py")
PRAISYNET_DA = EX3.AUGMENT["PraisyNetDA"]


def noise_batch(n, seed=0, dtype=torch.float32):
    """n copies of one random image: any geometric transform changes it."""
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return image.expand(n, -1, -1, -1).contiguous()


def test_identical_images_in_one_batch_get_different_transforms():
    out = augment_batch(noise_batch(8), PRAISYNET_DA, torch.Generator().manual_seed(0))
    assert not torch.equal(out[0], out[1])
    assert len({out[i].numpy().tobytes() for i in range(8)}) == 8


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_identity_augmentation_leaves_the_batch_unchanged(dtype):
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=dtype)
    out = augment_batch(x, Augmentation(), torch.Generator().manual_seed(0))
    assert torch.equal(out, x)


@pytest.mark.parametrize("aug", [PRAISYNET_DA, Augmentation(horizontal_flip=True, shift=0.1, rotation=10, zoom=0.2)])
def test_shape_and_dtype_are_preserved(aug):
    x = torch.rand(6, 3, 32, 32)
    out = augment_batch(x, aug, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert 0 <= out.min() and out.max() <= 1  # nearest sampling, black fill: no new values


def test_horizontal_flip_alone_flips_some_images_and_leaves_the_others():
    x = noise_batch(64)
    out = augment_batch(x, Augmentation(horizontal_flip=True), torch.Generator().manual_seed(0))
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(64)]
    kept = [torch.equal(out[i], x[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept)), "every image is either the original or its mirror"
    assert 10 < sum(flipped) < 54, f"{sum(flipped)} of 64 flipped: expected about half"


def test_the_same_generator_seed_gives_the_same_augmentation():
    x = noise_batch(4)
    a = augment_batch(x, PRAISYNET_DA, torch.Generator().manual_seed(7))
    b = augment_batch(x, PRAISYNET_DA, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_augment_examples_for_the_figure_is_uint8_seeded_and_per_image():
    images = (noise_batch(6).permute(0, 2, 3, 1) * 255).to(torch.uint8).numpy()
    out = torch_lab.augment_examples(PRAISYNET_DA, images, seed=3)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.array_equal(out, torch_lab.augment_examples(PRAISYNET_DA, images, seed=3))
    assert not np.array_equal(out[0], out[1])
    assert np.array_equal(torch_lab.augment_examples(Augmentation(), images, seed=3), images)


def test_praisynetda_and_myresnetda_train_on_the_reports_transforms_and_praisynet_on_none():
    ex4 = load_script("pytorch/ex4_resnet.py")
    assert str(PRAISYNET_DA) == "flip, rotation 10 deg, scale 0.2-1.2, shear 10 deg"
    assert ex4.AUGMENT == {"MyResNetDA": PRAISYNET_DA}
    assert "PraisyNet" not in EX3.AUGMENT


# --- the augmentation figures, with a stand-in for the augmentation --------------

def test_figure_shows_the_first_training_images_under_the_reports_augmentation(tmp_path, monkeypatch):
    calls, split = [], fake_cifar_split()
    monkeypatch.setattr(EX3, "augment_examples", recording_augment(calls))
    EX3.augmentation_figure(split, SimpleNamespace(models=["PraisyNetDA"], seed=5, out=tmp_path))
    assert (tmp_path / "plots" / "ex3" / "pytorch" / "dataset_augmented.png").exists()
    (augmentation, images, _), = calls
    assert augmentation == EX3.AUGMENT["PraisyNetDA"] == EX3.REPORT_AUGMENTATION
    n = EX3.N_EXAMPLES
    assert all(np.array_equal(images[i * n:(i + 1) * n], split.x_train[:n]) for i in range(EX3.N_AUGMENTED_ROWS))
