"""Exercise 1, PyTorch: convolutional networks on MNIST (report, PyTorch section 1).

    python pytorch/ex1_mnist.py                    # every model, 20 epochs
    python pytorch/ex1_mnist.py --models model4    # one model
    python pytorch/ex1_mnist.py --list             # architectures and parameter counts

Layers exactly as the report lists them; where it lists no activation there
is none, so model1 and model2 are linear classifiers over convolutions. Three
things differ from the Keras version of the same layers:
- PyTorch images are NCHW (channels first) and every layer is told its
  input size: nn.Conv2d(in_channels, out_channels, kernel), nn.Linear(in, out).
- The output layer gives logits: the softmax the report lists is inside
  nn.CrossEntropyLoss. old_model1 is the report's "Nota Bene" mistake, a
  softmax layer before CrossEntropyLoss, kept to show its effect.
- The report gives no dropout rate: 0.5 here.

Report (RTX 3060, 20 epochs, validated on the test set): model1 91.74%,
model2 97.20%, model3 98.55%, model4 98.76%. Here: the README, rebuilt from
results/ex1/pytorch/*.json.
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
DATASET = "mnist"
EPOCHS = {"model1": 20, "old_model1": 20, "model2": 20, "model3": 20, "model4": 20, "lab3": 20}


def model1():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),            # 28x28 -> 26x26, no activation: the report lists none
        nn.Flatten(),
        nn.Linear(32 * 26 * 26, 10),    # logits; the softmax is inside CrossEntropyLoss
    )


def old_model1():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.Flatten(),
        nn.Linear(32 * 26 * 26, 10),
        nn.Softmax(dim=1),              # the mistake: CrossEntropyLoss applies log-softmax again
    )


def model2():
    return nn.Sequential(
        nn.Conv2d(1, 64, 3),            # -> 26x26
        nn.Conv2d(64, 32, 3),           # -> 24x24
        nn.MaxPool2d(2, stride=1),      # -> 23x23
        nn.Conv2d(32, 16, 3),           # -> 21x21
        nn.Flatten(),
        nn.Linear(16 * 21 * 21, 10),
    )


def model3():
    return nn.Sequential(
        nn.Conv2d(1, 64, 3),
        nn.Conv2d(64, 32, 3),
        nn.Dropout(0.5),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),
        nn.Conv2d(32, 16, 3),
        nn.Flatten(),
        nn.Linear(16 * 21 * 21, 10),
    )


def model4():
    return nn.Sequential(
        nn.Conv2d(1, 64, 3),
        nn.Conv2d(64, 32, 3),
        nn.Dropout(0.5),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),
        nn.Conv2d(32, 16, 3),
        nn.Flatten(),
        nn.Linear(16 * 21 * 21, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def lab3():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"model1": model1, "old_model1": old_model1, "model2": model2, "model3": model3, "model4": model4, "lab3": lab3}
NOTES = {"old_model1": "model1 with a softmax layer before CrossEntropyLoss: the report's mistake",
         "lab3": "dense stand-in for the previous lab's best model; the report gives no architecture"}  # into the record


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
