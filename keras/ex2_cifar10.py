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
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

from common.cli import main  # noqa: E402
from common.entry import exit_process  # noqa: E402
from common.exercise import Exercise  # noqa: E402

CIFAR10 = (32, 32, 3)


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"model1": 20, "model5": 20, "model6": 20, "model7": 20, "lab3": 20}

def model1():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Conv2D(32, 3),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model1")


def model5():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Conv2D(64, 5),
        layers.Conv2D(128, 5),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2, strides=2),
        layers.Conv2D(256, 5),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model5")


def model6():
    import keras
    from keras import layers
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
        layers.Dense(10, activation="softmax"),
    ], name="model6")


def model7_layers():
    """model7's layers, without an input: exercise 3 puts its augmentation layers in front of them."""
    from keras import layers
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
        layers.Dense(10, activation="softmax"),
    ]


def model7():
    import keras
    return keras.Sequential([keras.Input(CIFAR10), *model7_layers()], name="model7")


def lab3():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(CIFAR10),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="lab3")


EXERCISE = Exercise(
    id="ex2", framework="keras", script="ex2_cifar10.py", dataset="cifar10", description=__doc__.split("\n\n")[0],
    models={"model1": model1, "model5": model5, "model6": model6, "model7": model7, "lab3": lab3},
    notes={"lab3": "dense stand-in for the previous lab's best model; the report gives no architecture"},
)

if __name__ == "__main__":
    exit_process(main(EXERCISE))
