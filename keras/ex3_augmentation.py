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
import math
import sys
from pathlib import Path

# The repository, for common/ (appended: it never shadows the real keras package). common/ first: from then
# on a Ctrl-C, even while TensorFlow loads, is one line.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from common import cli, experiment, layout  # noqa: E402
from common.entry import run_main  # noqa: E402
from common.figures import save_grid  # noqa: E402

from keras_lab import (batches, callbacks, list_models, normalise, resume, run_facts, save_model,  # noqa: E402
                       setup, shuffled_batches)  # keras/keras_lab.py: it loads Keras on TensorFlow
from keras_lab import augment_examples  # noqa: E402

import keras  # noqa: E402
from keras import layers  # noqa: E402

from ex2_cifar10 import CIFAR10, model7_layers  # noqa: E402  (model7's layers, keras/ex2_cifar10.py)


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"model8": 20, "model9": 20, "model10": 100}


def model8():
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


def augmentation_figures(split, args) -> None:
    """The report's sample of the training set: the same images, original and as each model saw them."""
    figures = list(dict.fromkeys(FIGURE_OF[name] for name in args.models))
    folder = layout.plots_dir(args.out, "ex3", "keras")
    images = split.x_train[:N_EXAMPLES]
    titles = [split.class_names[label] for label in split.y_train[:N_EXAMPLES]]
    save_grid(images, folder / "dataset_og.png", titles, row_labels=["original"])
    for name in figures:
        augmented = augment_examples(MODELS[name], images, args.seed)
        save_grid(augmented, folder / f"{name}_dataset_augmented.png", titles, row_labels=["augmented"])
        print(f"augmentation figure -> {folder / f'{name}_dataset_augmented.png'}", flush=True)


MODELS = {"model8": model8, "model9": model9, "model10": model9}
NOTES = {"model10": "model9 trained for 100 epochs"}  # into the record


def main() -> int:
    args = cli.parse_args(__file__, __doc__, EPOCHS)
    if args.list:
        return list_models(MODELS, args)
    data = experiment.load_data(DATASET, args)  # uint8 arrays, the same as PyTorch's; every output checked writable
    setup(args)                                 # --device, --seed, --precision
    for name in args.models:
        model = MODELS[name]()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        with experiment.ModelRun(args, data, name, run_facts(model), NOTES.get(name)) as run:
            history = resume(model, run.checkpoint)  # --resume: the epochs a checkpoint holds (none: empty)
            model.fit(shuffled_batches(data.x_train, data.y_train, args, len(history["loss"]), run.epochs),
                      steps_per_epoch=math.ceil(len(data.x_train) / args.batch_size),
                      validation_data=batches(data.x_val, data.y_val, args.batch_size),
                      epochs=run.epochs, initial_epoch=len(history["loss"]),
                      shuffle=False,  # shuffled_batches shuffles: each epoch's order from the seed and the epoch
                      callbacks=callbacks(history, run), verbose=0)  # a line per epoch, checkpoints
            probabilities = model.predict(normalise(data.x_test), batch_size=512, verbose=0)
            # Figures, confusion matrix, ten worst, record, and the model in Keras' format, as one set.
            run.write(history, probabilities, save_model=lambda path: save_model(model, path))
    augmentation_figures(data, args)
    return 0


if __name__ == "__main__":
    run_main(main)
