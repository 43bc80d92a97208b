"""Exercise 1, Keras: convolutional networks on MNIST (report, Keras section 1).

    python keras/ex1_mnist.py                      # every model, 20 epochs
    python keras/ex1_mnist.py --models model4      # one model
    python keras/ex1_mnist.py --list               # architectures and parameter counts

Layers exactly as the report lists them (Conv2D: filters, kernel, stride,
'valid'; MaxPooling: size, stride); where it lists no activation there is
none, so model1 is a linear classifier over a convolution.

Report (RTX 3060, 20 epochs, validated on the test set): model1 91.96%,
model2 97.81%, model3 98.12%, model4 98.13%, model5 98.04%. Here (2-core CPU,
Adam 1e-3, batch 128): see the README, rebuilt from results/ex1/keras/*.json.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

from common.architectures import BatchNorm, Conv, Dense, Flatten, MaxPool, ModelDef  # noqa: E402
from common.cli import main  # noqa: E402
from common.exercise import Exercise  # noqa: E402

MODELS = {
    "model1": ModelDef([Conv(32, 3), Flatten(), Dense(10, "softmax")]),
    "model2": ModelDef([Conv(32, 3), Conv(64, 3), MaxPool(2, 1), Conv(128, 3), Flatten(), Dense(10, "softmax")]),
    "model3": ModelDef([Conv(32, 5), Conv(64, 5), BatchNorm(), MaxPool(2, 1), Conv(128, 5),
                        Flatten(), Dense(10, "softmax")]),
    "model4": ModelDef([Conv(32, 5), Conv(64, 5), BatchNorm(), MaxPool(2, 2), Conv(128, 5),
                        Flatten(), Dense(10, "softmax")]),
    "model5": ModelDef([Conv(64, 5), Conv(128, 5), BatchNorm(), MaxPool(2, 2), Conv(256, 5),
                        Flatten(), Dense(10, "softmax")]),
    "lab3": ModelDef([Flatten(), Dense(128, "relu"), Dense(10, "softmax")],
                     note="dense stand-in for the previous lab's best model; the report gives no architecture"),
}

EXERCISE = Exercise(id="ex1", framework="keras", script="ex1_mnist.py", dataset="mnist",
                    description=__doc__.split("\n\n")[0], models=MODELS)

if __name__ == "__main__":
    sys.exit(main(EXERCISE, lambda: __import__("keras_lab")))
