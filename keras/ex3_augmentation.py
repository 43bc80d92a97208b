"""Exercise 3, Keras: data augmentation on CIFAR-10 (report, Keras section 3).

    python keras/ex3_augmentation.py                    # model8, model9 (20 epochs), model10 (100 epochs)
    python keras/ex3_augmentation.py --models model9    # one model
    python keras/ex3_augmentation.py --list             # architectures and parameter counts

Every model is exercise 2's model7 (common/report_models.py) trained on
augmented images. The report used ImageDataGenerator; here the same settings
are Keras preprocessing layers in front of the model (keras_lab.augmentation_layers),
active in training only, with a different random transform for each image,
filling with the nearest pixel as ImageDataGenerator does:

    model8   horizontal flip, shift 0.1 (height and width), rotation 10 deg, zoom 0.2
    model9   horizontal flip, shift 0.1
    model10  model9 trained for 100 epochs (the report's "model9bis")

Figures beside the usual ones, as in the report, from the same first 8
training images: plots/ex3/keras/dataset_og.png (originals, written when any
model ran), model8_dataset_augmented.png (when model8 ran) and
model9_dataset_augmented.png (when model9 or model10 ran: same augmentation).

Report (RTX 3060, validated on the test set): model8 69.78% (20 epochs),
model9 72.08% (20 epochs), model10 76.33% (100 epochs), against model7's
68.57% without augmentation. Here (2-core CPU, Adam 1e-3, batch 128, the
first 1,000 official test images): see the README, rebuilt from
results/ex3/keras/*.json.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

from common.architectures import Augmentation, ModelDef  # noqa: E402
from common.cli import main  # noqa: E402
from common.exercise import Exercise  # noqa: E402
from common.report_models import MODEL7  # noqa: E402

FLIP_SHIFT = Augmentation(horizontal_flip=True, shift=0.1)

MODELS = {
    "model8": ModelDef(MODEL7, augment=Augmentation(horizontal_flip=True, shift=0.1, rotation=10, zoom=0.2)),
    "model9": ModelDef(MODEL7, augment=FLIP_SHIFT),
    "model10": ModelDef(MODEL7, augment=FLIP_SHIFT, epochs=100, note="model9 trained for 100 epochs"),
}

# Which augmentation figure shows each model's training images (model10 shares model9's).
FIGURE_OF = {"model8": "model8", "model9": "model9", "model10": "model9"}
N_EXAMPLES = 8


def augmentation_figures(backend, args, split, out: Path) -> None:
    """The report's sample of the training set: the same images, original and as each model saw them."""
    from common.figures import save_grid  # matplotlib: only after training, keeps --list instant

    figures = list(dict.fromkeys(FIGURE_OF[name] for name in args.models))
    if not figures:
        return
    folder = out / "plots" / "ex3" / "keras"
    images = split.x_train[:N_EXAMPLES]
    titles = [split.class_names[label] for label in split.y_train[:N_EXAMPLES]]
    save_grid(images, folder / "dataset_og.png", titles)
    for name in figures:
        augmented = backend.augment_examples(MODELS[name].augment, images, args.seed)
        save_grid(augmented, folder / f"{name}_dataset_augmented.png", titles)
        print(f"augmentation figure -> {folder / f'{name}_dataset_augmented.png'}", flush=True)


EXERCISE = Exercise(id="ex3", framework="keras", script="ex3_augmentation.py", dataset="cifar10",
                    description=__doc__.split("\n\n")[0], models=MODELS, after_training=augmentation_figures)

if __name__ == "__main__":
    sys.exit(main(EXERCISE, lambda: __import__("keras_lab")))
