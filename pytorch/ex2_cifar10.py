"""Exercise 2, PyTorch: convolutional networks on CIFAR-10 (report, PyTorch section 2).

    python pytorch/ex2_cifar10.py                  # every model, 20 epochs
    python pytorch/ex2_cifar10.py --models model5  # one model
    python pytorch/ex2_cifar10.py --list           # architectures and parameter counts

Layers exactly as the report lists them; where it lists no activation there
is none, so model1 is a linear classifier over a convolution. model1 and
model4 are exercise 1's models on colour images; model5 is "inspired by
model4" (a second Conv-Conv-Dropout-ReLU-MaxPool block, a second hidden
Dense). The output layer's softmax is inside CrossEntropyLoss. The report
gives no dropout rate: 0.5 here, as in exercise 1.

Report (RTX 3060, 20 epochs, validated on the test set): model1 30.53%,
model4 67.51%, model5 70.11%. Here (2-core CPU, Adam 1e-3, batch 128, the
first 1,000 official test images): see the README, rebuilt from
results/ex2/pytorch/*.json.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow installed packages

from common.architectures import Conv, Dense, Dropout, Flatten, MaxPool, ModelDef, ReLU  # noqa: E402
from common.cli import main  # noqa: E402
from common.exercise import Exercise  # noqa: E402

MODELS = {
    "model1": ModelDef([Conv(32, 3), Flatten(), Dense(10, "softmax")]),
    "model4": ModelDef([Conv(64, 3), Conv(32, 3), Dropout(0.5), ReLU(), MaxPool(2, 1), Conv(16, 3),
                        Flatten(), Dense(128, "relu"), Dense(10, "softmax")]),
    "model5": ModelDef([Conv(64, 3), Conv(32, 3), Dropout(0.5), ReLU(), MaxPool(2, 1),
                        Conv(64, 3), Conv(32, 3), Dropout(0.5), ReLU(), MaxPool(2, 1),
                        Conv(16, 3), Flatten(), Dense(128, "relu"), Dense(256, "relu"), Dense(10, "softmax")]),
}

EXERCISE = Exercise(id="ex2", framework="pytorch", script="ex2_cifar10.py", dataset="cifar10",
                    description=__doc__.split("\n\n")[0], models=MODELS)

if __name__ == "__main__":
    sys.exit(main(EXERCISE, lambda: __import__("torch_lab")))
