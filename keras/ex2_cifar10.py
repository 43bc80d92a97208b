"""Exercise 2, Keras: convolutional networks on CIFAR-10 (report, Keras section 2).

    python keras/ex2_cifar10.py                    # every model, 20 epochs
    python keras/ex2_cifar10.py --models model7    # one model
    python keras/ex2_cifar10.py --list             # architectures and parameter counts

Layers exactly as the report lists them (Conv2D: filters, kernel, stride,
'valid' padding; MaxPooling2D: size, stride); where it lists no activation
there is none, so model1 and model5 are linear classifiers over
convolutions. The model numbers are the report's: model1 and model5 are
exercise 1's on colour images (only keras.Input changes); model7 is also
the base of exercise 3 (keras/ex3_augmentation.py imports it) and, layer for
layer, PyTorch's PraisyNet. lab3 stands in for "best lab3.3", the previous
lab's best model, whose architecture the report does not give.

Report (RTX 3060, 20 epochs, validated on the test set): best lab3.3 44.50%,
model1 33.35%, model5 55.96%, model6 63.78%, model7 68.57%. Here (the first
1,000 official test images): the README, rebuilt from results/ex2/keras/*.json.
"""
import math
import sys
from pathlib import Path

# The repository, for common/ (appended: it never shadows the real keras package). common/ first: from then
# on a Ctrl-C, even while TensorFlow loads, is one line.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from common import cli, experiment  # noqa: E402
from common.entry import run_main  # noqa: E402

from keras_lab import (batches, callbacks, list_models, normalise, resume, run_facts, save_model,  # noqa: E402
                       setup, shuffled_batches)  # keras/keras_lab.py: it loads Keras on TensorFlow

import keras  # noqa: E402
from keras import layers  # noqa: E402


CIFAR10 = (32, 32, 3)


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"model1": 20, "model5": 20, "model6": 20, "model7": 20, "lab3": 20}


def model1():
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Conv2D(32, 3),
        layers.Flatten(),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="model1")


def model5():
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Conv2D(64, 5),
        layers.Conv2D(128, 5),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2, strides=2),
        layers.Conv2D(256, 5),
        layers.Flatten(),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="model5")


def model6():
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Conv2D(64, 5),
        layers.MaxPooling2D(2, strides=2),
        layers.BatchNormalization(),
        layers.Conv2D(128, 5),
        layers.MaxPooling2D(2, strides=2),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="model6")


def model7_layers():
    """model7's layers, without an input: exercise 3 puts its augmentation layers in front of them."""
    return [
        layers.Conv2D(64, 5),
        layers.Conv2D(64, 5),
        layers.MaxPooling2D(2, strides=2),
        layers.BatchNormalization(),
        layers.Conv2D(128, 5),
        layers.Conv2D(128, 5),
        layers.MaxPooling2D(2, strides=2),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ]


def model7():
    return keras.Sequential([keras.Input(CIFAR10), *model7_layers()], name="model7")


def lab3():
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="lab3")


MODELS = {"model1": model1, "model5": model5, "model6": model6, "model7": model7, "lab3": lab3}
NOTES = {"lab3": "dense stand-in for the previous lab's best model; the report gives no architecture"}  # into the record


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
    return 0


if __name__ == "__main__":
    run_main(main)
