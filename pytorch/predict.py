"""Use a trained PyTorch model: its record's test accuracy again, or the classes of your own images.

    python pytorch/predict.py ex2/model7                 # re-measure on the record's test images
    python pytorch/predict.py ex1/model4 digit.png       # the top 3 classes of an image file
    python pytorch/predict.py ex3/PraisyNet cat.jpg --top 5

See common/predict.py for how images are converted, and the README ("Trained models") for loading a
model in three lines of plain framework code.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow installed packages

from common.predict import main  # noqa: E402


def load_lab():
    import torch_lab  # pytorch/torch_lab.py: it loads the framework, so only once the command line and the record are good
    return torch_lab


if __name__ == "__main__":
    sys.exit(main("pytorch", load_lab))
