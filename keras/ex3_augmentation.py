"""Exercise 3, Keras: data augmentation on CIFAR-10 (report, Keras section 3).

    python keras/ex3_augmentation.py                    # model8, model9 (20 epochs), model10 (100 epochs)
    python keras/ex3_augmentation.py --models model9    # one model
    python keras/ex3_augmentation.py --list             # architectures and parameter counts

Every model is exercise 2's model7 (imported from keras/ex2_cifar10.py)
trained on augmented images. The report used ImageDataGenerator; here its
settings are Keras preprocessing layers at the front of the model. They
transform each image of a training batch with its own random draw, and pass
images through unchanged at inference (evaluate, predict). fill_mode
"nearest" is ImageDataGenerator's default:

    model8   horizontal flip, shift 0.1 (height and width), rotation 10 deg, zoom 0.2
    model9   horizontal flip, shift 0.1
    model10  model9 trained for 100 epochs (the report's "model9bis")

Figures beside the usual ones, as in the report, from the same first 8
training images: plots/ex3/keras/dataset_og.png (originals, written when any
model ran), model8_dataset_augmented.png (when model8 ran) and
model9_dataset_augmented.png (when model9 or model10 ran: same augmentation).

Report (RTX 3060, validated on the test set): model8 69.78% (20 epochs),
model9 72.08% (20 epochs), model10 76.33% (100 epochs), against model7's
68.57% without augmentation. Here (the first 1,000 official test images):
the README, rebuilt from results/ex3/keras/*.json.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

from common.cli import main  # noqa: E402
from common.entry import exit_process  # noqa: E402
from common.exercise import Exercise  # noqa: E402
from ex2_cifar10 import CIFAR10, model7_layers  # noqa: E402


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"model8": 20, "model9": 20, "model10": 100}

def model8():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(CIFAR10),
        # ImageDataGenerator(rotation_range=10, width_shift_range=0.1, height_shift_range=0.1,
        #                    zoom_range=0.2, horizontal_flip=True):
        layers.RandomRotation(10 / 360, fill_mode="nearest"),  # a fraction of a full turn: +-10 degrees
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
        layers.RandomZoom(0.2, fill_mode="nearest"),
        layers.RandomFlip("horizontal"),
        *model7_layers(),
    ], name="model8")


def model9():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(CIFAR10),
        # ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True):
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
        layers.RandomFlip("horizontal"),
        *model7_layers(),
    ], name="model9")


# Which augmentation figure shows each model's training images (model10 is model9 for longer).
FIGURE_OF = {"model8": "model8", "model9": "model9", "model10": "model9"}
N_EXAMPLES = 8


def augmentation_figures(backend, args, split, out: Path) -> None:
    """The report's sample of the training set: the same images, original and as each model saw them."""
    from common import layout
    from common.figures import save_grid  # matplotlib: only after training, keeps --list instant

    figures = list(dict.fromkeys(FIGURE_OF[name] for name in args.models))
    if not figures:
        return
    folder = layout.plots_dir(out, "ex3", "keras")
    images = split.x_train[:N_EXAMPLES]
    titles = [split.class_names[label] for label in split.y_train[:N_EXAMPLES]]
    save_grid(images, folder / "dataset_og.png", titles, row_labels=["original"])
    for name in figures:
        augmented = backend.augment_examples(EXERCISE.models[name], images, args.seed)
        save_grid(augmented, folder / f"{name}_dataset_augmented.png", titles, row_labels=["augmented"])
        print(f"augmentation figure -> {folder / f'{name}_dataset_augmented.png'}", flush=True)


EXERCISE = Exercise(
    id="ex3", framework="keras", script="ex3_augmentation.py", dataset="cifar10",
    description=__doc__.split("\n\n")[0],
    models={"model8": model8, "model9": model9, "model10": model9},
    longer={"model10": 100},
    notes={"model10": "model9 trained for 100 epochs"},
    after_training=augmentation_figures,
)

if __name__ == "__main__":
    exit_process(main(EXERCISE))
