"""Exercise 2, Keras: convolutional networks on CIFAR-10 (report, Keras section 2).

    python keras/ex2_cifar10.py                    # every model, 20 epochs
    python keras/ex2_cifar10.py --models model7    # one model
    python keras/ex2_cifar10.py --list             # architectures and parameter counts

Layers exactly as the report lists them (Conv2D: filters, kernel, stride,
'valid'; MaxPooling: size, stride); where it lists no activation there is
none, so model1 and model5 are linear classifiers over convolutions. The
model numbers are the report's: model5 is exercise 1's model5 on colour
images; model7's layers (common/report_models.py) are also the base of
exercise 3. lab3 stands in for "best lab3.3", the previous lab's best model,
whose architecture the report does not give.

Report (RTX 3060, 20 epochs, validated on the test set): best lab3.3 44.50%,
model1 33.35%, model5 55.96%, model6 63.78%, model7 68.57%. Here (2-core CPU,
Adam 1e-3, batch 128, the first 1,000 official test images): see the README,
rebuilt from results/ex2/keras/*.json.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow the real keras package

from common.architectures import BatchNorm, Conv, Dense, Flatten, MaxPool, ModelDef  # noqa: E402
from common.cli import main  # noqa: E402
from common.exercise import Exercise  # noqa: E402
from common.report_models import MODEL7  # noqa: E402

MODELS = {
    "model1": ModelDef([Conv(32, 3), Flatten(), Dense(10, "softmax")]),
    "model5": ModelDef([Conv(64, 5), Conv(128, 5), BatchNorm(), MaxPool(2, 2), Conv(256, 5),
                        Flatten(), Dense(10, "softmax")]),
    "model6": ModelDef([Conv(64, 5), MaxPool(2, 2), BatchNorm(), Conv(128, 5), MaxPool(2, 2), BatchNorm(),
                        Flatten(), Dense(128, "relu"), Dense(10, "softmax")]),
    # Conv 64/5, Conv 64/5, MaxPool 2/2, BatchNorm, Conv 128/5, Conv 128/5, MaxPool 2/2, BatchNorm,
    # Flatten, Dense 128 relu, Dense 10 softmax
    "model7": ModelDef(MODEL7),
    "lab3": ModelDef([Flatten(), Dense(128, "relu"), Dense(10, "softmax")],
                     note="dense stand-in for the previous lab's best model; the report gives no architecture"),
}

EXERCISE = Exercise(id="ex2", framework="keras", script="ex2_cifar10.py", dataset="cifar10",
                    description=__doc__.split("\n\n")[0], models=MODELS)

if __name__ == "__main__":
    sys.exit(main(EXERCISE, lambda: __import__("keras_lab")))
