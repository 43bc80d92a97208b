"""Exercise 1, Keras: convolutional networks on MNIST (report, Keras section 1).

    python keras/ex1_mnist.py                      # every model, 20 epochs
    python keras/ex1_mnist.py --models model4      # one model
    python keras/ex1_mnist.py --list               # architectures and parameter counts

Layers exactly as the report lists them (Conv2D: filters, kernel, stride,
'valid' padding; MaxPooling2D: size, stride); where it lists no activation
there is none, so model1 is a linear classifier over a convolution. Keras
images are NHWC (channels last) and a layer infers its input size from the
one before, so only keras.Input names the image shape. The softmax of the
output layer is part of the model: Keras' sparse categorical cross-entropy
takes probabilities.

Report (RTX 3060, 20 epochs, validated on the test set): model1 91.96%,
model2 97.81%, model3 98.12%, model4 98.13%, model5 98.04%. Here: the README,
rebuilt from results/ex1/keras/*.json. The models are built when called, so
--help and the campaign never load TensorFlow.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

from common.cli import main  # noqa: E402
from common.entry import exit_process  # noqa: E402
from common.exercise import Exercise  # noqa: E402

MNIST = (28, 28, 1)


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "mnist"
EPOCHS = {"model1": 20, "model2": 20, "model3": 20, "model4": 20, "model5": 20, "lab3": 20}

def model1():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(MNIST),
        layers.Conv2D(32, 3),           # no activation: the report lists none
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model1")


def model2():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(MNIST),
        layers.Conv2D(32, 3),
        layers.Conv2D(64, 3),
        layers.MaxPooling2D(2, strides=1),
        layers.Conv2D(128, 3),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model2")


def model3():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(MNIST),
        layers.Conv2D(32, 5),
        layers.Conv2D(64, 5),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2, strides=1),
        layers.Conv2D(128, 5),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model3")


def model4():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(MNIST),
        layers.Conv2D(32, 5),
        layers.Conv2D(64, 5),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2, strides=2),
        layers.Conv2D(128, 5),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model4")


def model5():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(MNIST),
        layers.Conv2D(64, 5),
        layers.Conv2D(128, 5),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2, strides=2),
        layers.Conv2D(256, 5),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="model5")


def lab3():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input(MNIST),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="lab3")


EXERCISE = Exercise(
    id="ex1", framework="keras", script="ex1_mnist.py", dataset="mnist", description=__doc__.split("\n\n")[0],
    models={"model1": model1, "model2": model2, "model3": model3, "model4": model4, "model5": model5,
            "lab3": lab3},
    notes={"lab3": "dense stand-in for the previous lab's best model; the report gives no architecture"},
)

if __name__ == "__main__":
    exit_process(main(EXERCISE))
