"""Exercise 3, PyTorch: data augmentation on CIFAR-10 (report, PyTorch section 3).

    python pytorch/ex3_augmentation.py                          # PraisyNet (20 epochs), PraisyNetDA (100 epochs)
    python pytorch/ex3_augmentation.py --models PraisyNetDA     # one model
    python pytorch/ex3_augmentation.py --list                   # architectures and parameter counts

PraisyNet is the report's network "matching the one we used on the Keras
version": Keras model7's layers (common/report_models.py), the same 789,322
trainable parameters. PraisyNetDA is PraisyNet trained on augmented images,
the report's

    RandomAffine(0, scale=(.2, 1.2), shear=10), RandomHorizontalFlip(), RandomRotation(10)

applied as the report's per-sample DataLoader transforms did, a different
random transform for each image, but batched on the device in one
grid_sample call (pytorch/augment.py): torchvision's v2 transforms on a batch
tensor would draw one transform for the whole batch.

The report's figure plots/ex3/pytorch/dataset_augmented.png (the first 8
training images, then three rows of their augmentations) is written when
PraisyNetDA ran. The report named its plots praisynet_no_augmentation_* and
praisynet_*; here they follow the model names, PraisyNet_* and PraisyNetDA_*.

Report (RTX 3060, validated on the test set): PraisyNet 69.80% (20 epochs),
PraisyNetDA 77.18% (100 epochs). Here (2-core CPU, Adam 1e-3, batch 128,
channels_last, the first 1,000 official test images): the README's tables,
rebuilt from results/ex3/pytorch/*.json, give each record's accuracy,
training time and seconds per epoch.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow installed packages

import numpy as np  # noqa: E402

from common.architectures import Augmentation, ModelDef  # noqa: E402
from common.cli import main  # noqa: E402
from common.exercise import Exercise  # noqa: E402
from common.report_models import MODEL7  # noqa: E402

MODELS = {
    "PraisyNet": ModelDef(MODEL7, note="Keras model7's layers, no augmentation"),
    "PraisyNetDA": ModelDef(MODEL7, augment=Augmentation(scale=(0.2, 1.2), shear=10, horizontal_flip=True,
                                                         rotation=10),
                            epochs=100, note="PraisyNet with the report's augmentation"),
}

N_EXAMPLES, N_AUGMENTED_ROWS = 8, 3


def augmentation_figure(backend, args, split, out: Path) -> None:
    """The report's sample of augmented training images: originals on top, then augmentations of them."""
    from common.figures import save_grid  # matplotlib: only after training, keeps --list instant

    if "PraisyNetDA" not in args.models:
        return
    images = split.x_train[:N_EXAMPLES]
    augmented = backend.augment_examples(MODELS["PraisyNetDA"].augment,
                                         np.concatenate([images] * N_AUGMENTED_ROWS), args.seed)
    titles = [split.class_names[label] for label in split.y_train[:N_EXAMPLES]]
    titles += ["augmented"] * len(augmented)
    path = out / "plots" / "ex3" / "pytorch" / "dataset_augmented.png"
    save_grid(np.concatenate([images, augmented]), path, titles, columns=len(images))
    print(f"augmentation figure -> {path}", flush=True)


EXERCISE = Exercise(id="ex3", framework="pytorch", script="ex3_augmentation.py", dataset="cifar10",
                    description=__doc__.split("\n\n")[0], models=MODELS, after_training=augmentation_figure)

if __name__ == "__main__":
    sys.exit(main(EXERCISE, lambda: __import__("torch_lab")))
