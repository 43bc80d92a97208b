"""Exercise 4, Keras: ResNet50 transfer learning on CIFAR-10 (report, Keras section 4).

    python keras/ex4_resnet.py                          # MyResNet, MyResNetDA: ImageNet weights, 20 epochs
    python keras/ex4_resnet.py --weights none           # no pretrained weights: trains from scratch
    python keras/ex4_resnet.py --weights FILE.h5        # the pretrained weights from a local file
    python keras/ex4_resnet.py --freeze-backbone        # train only the new classifier
    python keras/ex4_resnet.py --image-size 224         # upsample inside the model (about 50x the compute)
    python keras/ex4_resnet.py --list                   # architectures and parameter counts

The report: "ResNet50 pre-trained on ImageNet. We want to specify our input
shape and remove the classifier to add our own so the model can classify 10
classes", with no layer frozen. Here: keras.applications.ResNet50(
include_top=False) at the input size, then GlobalAveragePooling2D and
Dense 10 softmax, every layer trainable, fed 32x32 images as in the report.

Inside the model, in order: MyResNetDA's augmentation, upsampling to
--image-size (Resizing, bilinear, only when it is not 32), then what the
ImageNet weights expect: keras.applications.resnet50.preprocess_input
('caffe': RGB to BGR, minus the ImageNet channel means) of the 0-255 image;
the flow feeds [0, 1] floats, so the layer multiplies by 255 first.

MyResNetDA: model9's augmentation (horizontal flip, shift 0.1), "same than
model9" as the report says: Keras preprocessing layers in front of the model,
active in training only. The ImageNet preprocessing is a registered Keras
layer (ImageNetPreprocess), not a Lambda, so a saved model loads in Keras'
default safe mode.

--weights imagenet (default) loads the file keras.applications downloads,
resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5, from the Keras cache
(KERAS_HOME, default ~/.keras, folder models/), downloading it when missing.
A machine without internet can copy that file there, or pass it as
--weights PATH: weights of a Keras ResNet50(include_top=False), as that
.h5 file or saved with backbone.save_weights(PATH.weights.h5); the
classifier is always new. --weights none trains from scratch and every
record and README row says so.

Trainable parameters (tests build it and check): 23,555,082 (23,534,592 in
the backbone + 20,490 in Dense 10; the 53,120 BatchNorm moving statistics
are not trainable); 20,490 with --freeze-backbone. The PyTorch version has
23,528,522: Keras' ResNet50 convolutions have biases (26,560), torchvision's
do not; this is the one model whose count differs between the frameworks.

Report (RTX 3060, validated on the test set, epochs not stated; 20 here as
elsewhere): MyResNet 73.63% (1153.49 s), MyResNetDA 76.15% (1172.44 s).
The README's tables, rebuilt from results/ex4/keras/*.json, give each
record's accuracy, training time and seconds per epoch.
"""
import math
import os
import sys
from pathlib import Path

# The repository, for common/ (appended: it never shadows the real keras package). common/ first: from then
# on a Ctrl-C, even while TensorFlow loads, is one line.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from common import cli, experiment, transfer  # noqa: E402
from common.entry import run_main  # noqa: E402
from common.errors import UserError  # noqa: E402

from keras_lab import (batches, callbacks, list_models, normalise, resume, run_facts, save_model,  # noqa: E402
                       setup, shuffled_batches)  # keras/keras_lab.py: it loads Keras on TensorFlow
from keras_lab import ImageNetPreprocess  # noqa: E402

import keras  # noqa: E402
from keras import layers  # noqa: E402

from ex2_cifar10 import CIFAR10  # noqa: E402  (the image shape, keras/ex2_cifar10.py)

# The file keras.applications.ResNet50(weights="imagenet", include_top=False) downloads, and its md5.
WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" + WEIGHTS_FILE
WEIGHTS_MD5 = "4d473c1dd8becc155b73f8504c6f6626"


# --- the models -------------------------------------------------------------


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"MyResNet": 20, "MyResNetDA": 20}  # the report gives no epochs: 20, as elsewhere


def my_resnet(args, augmentation=list, name="MyResNet"):
    """[augmentation] - [Resizing] - ImageNet preprocessing - ResNet50 - GlobalAveragePooling2D - Dense softmax."""

    size = args.image_size
    backbone = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(size, size, 3))
    if args.weights != "none":
        load_backbone(backbone, imagenet_weights_file() if args.weights == "imagenet" else args.weights)
    backbone.trainable = not args.freeze_backbone  # frozen: BatchNorm also runs in inference mode

    inputs = keras.Input(CIFAR10)
    x = inputs
    for layer in augmentation():
        x = layer(x)
    if size != CIFAR10[0]:
        x = layers.Resizing(size, size, interpolation="bilinear", name="upsample")(x)
    x = ImageNetPreprocess(name="imagenet_preprocess")(x)  # what the ImageNet weights expect
    x = backbone(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)  # the new classifier
    return keras.Model(inputs, outputs, name=name)


def model9_augmentation():
    """The report's "same than model9": ImageDataGenerator(width/height_shift_range=0.1, horizontal_flip=True)."""
    return [layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"), layers.RandomFlip("horizontal")]


def my_resnet_da(args):
    return my_resnet(args, model9_augmentation, name="MyResNetDA")


def architecture_words(args) -> str:
    return transfer.architecture_text("keras.applications", "GlobalAveragePooling2D - Dense 10 softmax", args)


# --- the options and the weights ----------------------------------------------

def add_arguments(parser):
    transfer.add_arguments(
        parser, "backbone weights: Keras' ImageNet weights (downloaded once into ~/.keras/models), "
        "none (train from scratch) or a local .h5/.weights.h5 file of a Keras "
        "ResNet50(include_top=False)")


def check_weights_file(path):
    transfer.require_file(path, "a Keras ResNet50 weights file, .h5 or .weights.h5")
    if not path.endswith(".h5"):
        raise UserError(f"--weights {path}: Keras reads weights from .h5 or .weights.h5 files only")


def check_args(args):
    transfer.check_args(args, check_weights_file)


def keras_models_dir() -> Path:
    """Where keras.utils.get_file caches the file: $KERAS_HOME or ~/.keras (or /tmp/.keras if not writable)."""
    base = os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return Path(base) / "models"


def imagenet_weights_file() -> str:
    """Keras' own download-and-cache path (the file and md5 keras.applications uses), failing in one line."""
    import socket


    folder = keras_models_dir()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(transfer.DOWNLOAD_TIMEOUT_S)
    try:
        return keras.utils.get_file(WEIGHTS_FILE, WEIGHTS_URL, cache_subdir="models", file_hash=WEIGHTS_MD5,
                                    cache_dir=str(folder.parent))
    except Exception as exc:  # get_file raises plain Exception for URL errors; also timeouts, bad hashes
        reason = transfer.first_line(exc).split(" -- ", 1)[-1]  # "URL fetch failure on <url>: <errno> -- <reason>"
        raise UserError(f"Keras' ImageNet weights for ResNet50 are not cached and could not be downloaded from "
                        f"{WEIGHTS_URL} ({reason}): put that file in {folder}/ (or give it with "
                        f"--weights PATH), or train from scratch with --weights none") from None
    finally:
        socket.setdefaulttimeout(previous)


def load_backbone(backbone, path) -> None:
    """All the backbone's weights from ``path``, or a clear refusal (Keras only warns about some mismatches)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            backbone.load_weights(path)
        except Exception as exc:  # OSError: not HDF5; ValueError: another architecture
            raise UserError(f"--weights {path}: not the weights of a Keras ResNet50(include_top=False) "
                            f"({transfer.first_line(exc)})") from None
    skipped = [w for w in caught if issubclass(w.category, UserWarning) and "keras" in str(w.filename)]
    if skipped:
        raise UserError(f"--weights {path}: not the weights of a Keras ResNet50(include_top=False) "
                        f"({transfer.first_line(skipped[0].message)})")
    for w in caught:  # anything else: show it as usual
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


MODELS = {"MyResNet": my_resnet, "MyResNetDA": my_resnet_da}


def main() -> int:
    args = cli.parse_args(__file__, __doc__, EPOCHS, add_options=add_arguments, check=check_args)
    if args.list:
        return list_models({name: lambda make=make: make(args) for name, make in MODELS.items()}, args)
    data = experiment.load_data(DATASET, args)  # uint8 arrays, the same as PyTorch's; every output checked writable
    setup(args)                                 # --device, --seed, --precision
    for name in args.models:
        model = MODELS[name](args)  # --weights, --freeze-backbone, --image-size
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        with experiment.ModelRun(args, data, name, run_facts(model, architecture=architecture_words(args))) as run:
            history = resume(model, run.checkpoint)  # --resume: the epochs a checkpoint holds (none: empty)
            model.fit(shuffled_batches(data.x_train, data.y_train, args, len(history["loss"]), run.epochs),
                      steps_per_epoch=math.ceil(len(data.x_train) / args.batch_size),
                      validation_data=batches(data.x_val, data.y_val, args.batch_size),
                      epochs=run.epochs, initial_epoch=len(history["loss"]),
                      shuffle=False,  # shuffled_batches shuffles: each epoch's order from the seed and the epoch
                      callbacks=callbacks(history, run), verbose=0)  # a line per epoch, checkpoints
            probabilities = model.predict(normalise(data.x_test), batch_size=512, verbose=0)
            # Figures, confusion matrix, ten worst, record, and the model in Keras' format, as one set.
            run.write(history, probabilities, save_model=lambda path: save_model(model, path))
    return 0


if __name__ == "__main__":
    run_main(main)
