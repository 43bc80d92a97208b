"""Exercise 2, PyTorch: convolutional networks on CIFAR-10 (report, PyTorch section 2).

    python pytorch/ex2_cifar10.py                  # every model, 20 epochs
    python pytorch/ex2_cifar10.py --models model5  # one model
    python pytorch/ex2_cifar10.py --list           # architectures and parameter counts

Layers exactly as the report lists them; where it lists no activation there
is none, so model1 is a linear classifier over a convolution. model1 and
model4 are exercise 1's models on colour images: the first convolution takes
3 input channels, and every size after it grows (32x32 images). model5 is
"inspired by model4": a second Conv-Conv-Dropout-ReLU-MaxPool block and a
second hidden Linear layer. The output layer gives logits; the softmax is
inside nn.CrossEntropyLoss. The report gives no dropout rate: 0.5 here.

Report (RTX 3060, 20 epochs, validated on the test set): model1 30.53%,
model4 67.51%, model5 70.11%. Here (the first 1,000 official test images):
the README, rebuilt from results/ex2/pytorch/*.json.
"""
import sys
from pathlib import Path

# The repository, for common/ (appended: it never shadows an installed package). common/ first: from then
# on a Ctrl-C, even while torch loads, is one line.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from common import cli, experiment  # noqa: E402
from common.entry import run_main  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from torch_lab import list_models, predict, run_facts, setup, train  # noqa: E402  (pytorch/torch_lab.py)


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"model1": 20, "model4": 20, "model5": 20}


def model1():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3),            # 32x32 -> 30x30
        nn.Flatten(),
        nn.Linear(32 * 30 * 30, 10),    # logits; the softmax is inside CrossEntropyLoss
    )


def model4():
    return nn.Sequential(
        nn.Conv2d(3, 64, 3),            # -> 30x30
        nn.Conv2d(64, 32, 3),           # -> 28x28
        nn.Dropout(0.5),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),      # -> 27x27
        nn.Conv2d(32, 16, 3),           # -> 25x25
        nn.Flatten(),
        nn.Linear(16 * 25 * 25, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def model5():
    return nn.Sequential(
        nn.Conv2d(3, 64, 3),            # -> 30x30
        nn.Conv2d(64, 32, 3),           # -> 28x28
        nn.Dropout(0.5),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),      # -> 27x27
        nn.Conv2d(32, 64, 3),           # -> 25x25
        nn.Conv2d(64, 32, 3),           # -> 23x23
        nn.Dropout(0.5),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),      # -> 22x22
        nn.Conv2d(32, 16, 3),           # -> 20x20
        nn.Flatten(),
        nn.Linear(16 * 20 * 20, 128),
        nn.ReLU(),
        nn.Linear(128, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )


MODELS = {"model1": model1, "model4": model4, "model5": model5}
NOTES = {}  # into the record


def main() -> int:
    args = cli.parse_args(__file__, __doc__, EPOCHS)
    if args.list:
        return list_models(MODELS, args)
    data = experiment.load_data(DATASET, args)  # uint8 arrays, the same as Keras'; every output checked writable
    device = setup(args)                        # --device, --seed, --precision
    for name in args.models:
        model = MODELS[name]().to(device)
        with experiment.ModelRun(args, data, name, run_facts(model), NOTES.get(name)) as run:
            history = train(model, data, args, run)      # the training loop, pytorch/torch_lab.py
            probabilities = predict(model, data.x_test, args.batch_size)  # softmax of the logits, test set
            # Figures, confusion matrix, ten worst, record, and the weights as a state_dict, as one set.
            run.write(history, probabilities, save_model=lambda path: torch.save(model.state_dict(), path))
    return 0


if __name__ == "__main__":
    run_main(main)
