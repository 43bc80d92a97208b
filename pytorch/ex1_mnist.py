"""Exercise 1, PyTorch: convolutional networks on MNIST (report, PyTorch section 1).

    python pytorch/ex1_mnist.py                    # every model, 20 epochs
    python pytorch/ex1_mnist.py --models model4    # one model
    python pytorch/ex1_mnist.py --list             # architectures and parameter counts

Layers exactly as the report lists them; where it lists no activation there
is none, so model1 and model2 are linear classifiers over convolutions. The
output layer's softmax is inside CrossEntropyLoss, except in old_model1, the
report's "Nota Bene" mistake: a softmax layer before CrossEntropyLoss, kept to
show its effect. The report gives no dropout rate: 0.5 here.

Report (RTX 3060, 20 epochs, validated on the test set): model1 91.74%,
model2 97.20%, model3 98.55%, model4 98.76%. Here (2-core CPU, Adam 1e-3,
batch 128): see the README, rebuilt from results/ex1/pytorch/*.json.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow installed packages

from common.architectures import Conv, Dense, Dropout, Flatten, MaxPool, ModelDef, ReLU, Softmax  # noqa: E402
from common.cli import main  # noqa: E402
from common.exercise import Exercise  # noqa: E402

MODELS = {
    "model1": ModelDef([Conv(32, 3), Flatten(), Dense(10, "softmax")]),
    "old_model1": ModelDef([Conv(32, 3), Flatten(), Dense(10, "softmax"), Softmax()],
                           note="model1 with a softmax layer before CrossEntropyLoss: the report's mistake"),
    "model2": ModelDef([Conv(64, 3), Conv(32, 3), MaxPool(2, 1), Conv(16, 3), Flatten(), Dense(10, "softmax")]),
    "model3": ModelDef([Conv(64, 3), Conv(32, 3), Dropout(0.5), ReLU(), MaxPool(2, 1), Conv(16, 3),
                        Flatten(), Dense(10, "softmax")]),
    "model4": ModelDef([Conv(64, 3), Conv(32, 3), Dropout(0.5), ReLU(), MaxPool(2, 1), Conv(16, 3),
                        Flatten(), Dense(128, "relu"), Dense(10, "softmax")]),
    "lab3": ModelDef([Flatten(), Dense(128, "relu"), Dense(10, "softmax")],
                     note="dense stand-in for the previous lab's best model; the report gives no architecture"),
}

EXERCISE = Exercise(id="ex1", framework="pytorch", script="ex1_mnist.py", dataset="mnist",
                    description=__doc__.split("\n\n")[0], models=MODELS)

if __name__ == "__main__":
    sys.exit(main(EXERCISE, lambda: __import__("torch_lab")))
