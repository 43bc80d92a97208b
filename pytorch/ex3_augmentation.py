"""Exercise 3, PyTorch: data augmentation on CIFAR-10 (report, PyTorch section 3).

    python pytorch/ex3_augmentation.py                          # PraisyNet (20 epochs), PraisyNetDA (100 epochs)
    python pytorch/ex3_augmentation.py --models PraisyNetDA     # one model
    python pytorch/ex3_augmentation.py --list                   # architectures and parameter counts

PraisyNet is the report's network "matching the one we used on the Keras
version": Keras model7's layers (keras/ex2_cifar10.py), the same 789,322
trainable parameters (a test checks both). PraisyNetDA is PraisyNet trained
on augmented images, the report's

    RandomAffine(0, scale=(.2, 1.2), shear=10), RandomHorizontalFlip(), RandomRotation(10)

applied as the report's per-sample DataLoader transforms did, a different
random transform for each image, but to whole batches on the device in one
grid_sample call (pytorch/augment.py): torchvision's v2 transforms on a batch
tensor would draw one transform for the whole batch. The training loop calls
it on each training batch; evaluation sees the images as they are.

The report's figure plots/ex3/pytorch/dataset_augmented.png (the first 8
training images, then three rows of their augmentations) is written when
PraisyNetDA ran. The report named its plots praisynet_no_augmentation_* and
praisynet_*; here they follow the model names, PraisyNet_* and PraisyNetDA_*.

Report (RTX 3060, validated on the test set): PraisyNet 69.80% (20 epochs),
PraisyNetDA 77.18% (100 epochs). Here (the first 1,000 official test images):
the README, rebuilt from results/ex3/pytorch/*.json.
"""
import sys
from pathlib import Path

# The repository, for common/ (appended: it never shadows an installed package). common/ first: from then
# on a Ctrl-C, even while torch loads, is one line.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from common import cli, experiment, layout  # noqa: E402
from common.entry import run_main  # noqa: E402
from common.figures import save_grid  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from augment import RandomAffinePerImage  # noqa: E402  (pytorch/augment.py)
from torch_lab import augment_examples, list_models, predict, run_facts, setup, train  # noqa: E402

# The report's torchvision transforms, drawn on the batch with a different random transform for each image.
REPORT_AUGMENTATION = RandomAffinePerImage(scale=(0.2, 1.2), shear=10, horizontal_flip=True, rotation=10)


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"PraisyNet": 20, "PraisyNetDA": 100}


def praisynet():
    return nn.Sequential(
        nn.Conv2d(3, 64, 5),            # 32x32 -> 28x28
        nn.Conv2d(64, 64, 5),           # -> 24x24
        nn.MaxPool2d(2, stride=2),      # -> 12x12
        nn.BatchNorm2d(64),             # 2d: over the channels of an image (BatchNorm1d is for vectors)
        nn.Conv2d(64, 128, 5),          # -> 8x8
        nn.Conv2d(128, 128, 5),         # -> 4x4
        nn.MaxPool2d(2, stride=2),      # -> 2x2
        nn.BatchNorm2d(128),
        nn.Flatten(),
        nn.Linear(128 * 2 * 2, 128),
        nn.ReLU(),
        nn.Linear(128, 10),             # logits; the softmax is inside CrossEntropyLoss
    )


N_EXAMPLES, N_AUGMENTED_ROWS = 8, 3


def augmentation_figure(split, args) -> None:
    """The report's sample of augmented training images: originals on top, then augmentations of them."""
    images = split.x_train[:N_EXAMPLES]
    augmented = augment_examples(REPORT_AUGMENTATION, np.concatenate([images] * N_AUGMENTED_ROWS), args.seed)
    titles = [split.class_names[label] for label in split.y_train[:N_EXAMPLES]] + [""] * len(augmented)
    path = layout.plots_dir(args.out, "ex3", "pytorch") / "dataset_augmented.png"
    save_grid(np.concatenate([images, augmented]), path, titles, columns=len(images),
              row_labels=["original"] + ["augmented"] * N_AUGMENTED_ROWS)
    print(f"augmentation figure -> {path}", flush=True)


MODELS = {"PraisyNet": praisynet, "PraisyNetDA": praisynet}
AUGMENT = {"PraisyNetDA": REPORT_AUGMENTATION}  # the batched transform each model's training applies
NOTES = {"PraisyNet": "Keras model7's layers, no augmentation",
         "PraisyNetDA": "PraisyNet with the report's augmentation"}  # into the record


def main() -> int:
    args = cli.parse_args(__file__, __doc__, EPOCHS)
    if args.list:
        return list_models(MODELS, args, AUGMENT)
    data = experiment.load_data(DATASET, args)  # uint8 arrays, the same as Keras'; every output checked writable
    device = setup(args)                        # --device, --seed, --precision
    for name in args.models:
        model = MODELS[name]().to(device)
        with experiment.ModelRun(args, data, name, run_facts(model, AUGMENT.get(name)), NOTES.get(name)) as run:
            history = train(model, data, args, run, augment=AUGMENT.get(name))  # pytorch/torch_lab.py
            probabilities = predict(model, data.x_test, args.batch_size)  # softmax of the logits, test set
            # Figures, confusion matrix, ten worst, record, and the weights as a state_dict, as one set.
            run.write(history, probabilities, save_model=lambda path: torch.save(model.state_dict(), path))
    if "PraisyNetDA" in args.models:
        augmentation_figure(data, args)
    return 0


if __name__ == "__main__":
    run_main(main)
