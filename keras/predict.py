"""Use a trained Keras model: its record's test accuracy again, or the classes of your own images.

    python keras/predict.py ex2/model7                 # re-measure on the record's test images
    python keras/predict.py ex1/model4 digit.png       # the top 3 classes of an image file
    python keras/predict.py ex3/PraisyNet cat.jpg --top 5

See common/predict.py for how images are converted, and the README ("Trained models") for loading a
model in three lines of plain framework code.
"""
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # appended: never shadow installed packages

from common.predict import main  # noqa: E402


def load_lab():
    import keras_lab  # keras/keras_lab.py: it loads the framework, so only once the command line and the record are good
    return keras_lab


if __name__ == "__main__":
    sys.exit(main("keras", load_lab))
