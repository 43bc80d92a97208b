"""Exercise 4, PyTorch: ResNet50 transfer learning on CIFAR-10 (report, PyTorch section 4).

    python pytorch/ex4_resnet.py                        # MyResNet, MyResNetDA: ImageNet weights, 20 epochs
    python pytorch/ex4_resnet.py --weights none         # no pretrained weights: trains from scratch
    python pytorch/ex4_resnet.py --weights FILE.pth     # the pretrained weights from a local file
    python pytorch/ex4_resnet.py --freeze-backbone      # train only the new classifier
    python pytorch/ex4_resnet.py --image-size 224       # upsample inside the model (about 50x the compute)
    python pytorch/ex4_resnet.py --list                 # architectures and parameter counts

The report: "ResNet50 pre-trained on ImageNet. We want to specify our input
shape and remove the classifier to add our own so the model can classify 10
classes", with no layer frozen. Here: torchvision's resnet50 with its `fc`
replaced by Linear(2048, 10) (the softmax is in CrossEntropyLoss), every
layer trainable, fed 32x32 images as in the report.

Weights: ResNet50_Weights.IMAGENET1K_V1, the weights `pretrained=True` loaded
(what the report's code most likely got), trained with the same classic
recipe as Keras' ResNet50 weights, so the two halves start alike. V2 is 4.7
points better on ImageNet thanks to a long, heavily regularised recipe tuned
for 224-pixel inputs, which says little about 32x32 CIFAR-10.

Inside the model, in front of the network: upsampling to --image-size
(bilinear, only when it is not 32) and the normalisation the weights were
trained with (the mean and std of IMAGENET1K_V1.transforms()); the flow
feeds [0, 1] NCHW floats.

MyResNetDA: PraisyNetDA's augmentation (scale 0.2-1.2, shear 10 deg,
horizontal flip, rotation 10 deg, imported from pytorch/ex3_augmentation.py),
drawn per image by the training loop on the 32x32 batch, before upsampling.

--weights imagenet (default) loads torchvision's file from the torch hub
cache (TORCH_HOME, default ~/.cache/torch/hub/checkpoints/resnet50-0676ba61.pth),
downloading it when missing. A machine without internet can copy that file
there, or pass it as --weights PATH: a state_dict of a torchvision ResNet50
(torch.save(model.state_dict(), PATH)); its classifier, if any, is dropped,
as the ImageNet one is. --weights none trains from scratch and every
record and README row says so.

Trainable parameters (tests build it and check): 23,528,522 (23,508,032 in the backbone + 20,490 in the
new classifier); 20,490 with --freeze-backbone, which also keeps the frozen
BatchNorm layers in inference mode, as Keras does. The Keras version has
23,555,082: Keras' ResNet50 convolutions have biases (26,560), torchvision's
do not; this is the one model whose count differs between the frameworks.

Report (RTX 3060, validated on the test set, epochs not stated; 20 here as
elsewhere): MyResNet 82.43% (1076.82 s), MyResNetDA 80.67% (1079.93 s).
--image-size 224 computes (224/32)^2 = 49 times more per image. The README's tables, rebuilt from
results/ex4/pytorch/*.json, give each record's accuracy, training time and
seconds per epoch.
"""
import sys
from pathlib import Path

# The repository, for common/ (appended: it never shadows an installed package). common/ first: from then
# on a Ctrl-C, even while torch loads, is one line.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from common import cli, experiment, transfer  # noqa: E402
from common.entry import run_main  # noqa: E402
from common.errors import UserError  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torchvision.models import ResNet50_Weights, resnet50  # noqa: E402

from ex3_augmentation import REPORT_AUGMENTATION  # noqa: E402
from torch_lab import ImageNetInput, TransferResNet, list_models, predict, run_facts, setup, train  # noqa: E402


# --- the model --------------------------------------------------------------


# The report's models in its order, with the epochs it trained each for, and the data set: plain
# literals, so the campaign and the report read them from this file without importing a framework.
DATASET = "cifar10"
EPOCHS = {"MyResNet": 20, "MyResNetDA": 20}  # the report gives no epochs: 20, as elsewhere


def my_resnet(args):
    """torchvision's ResNet50 with a new classifier, behind upsampling and the weights' own normalisation."""


    net = resnet50(weights=None)  # 1000 classes, the layout of the weights files
    if args.weights != "none":
        state = imagenet_state_dict() if args.weights == "imagenet" else read_state_dict(args.weights)
        load_backbone(net, state, args.weights)
    if args.freeze_backbone:
        net.requires_grad_(False)
    net.fc = nn.Linear(net.fc.in_features, 10)  # the new classifier, trainable; softmax in the loss
    transform = imagenet_weights().transforms()
    return TransferResNet(ImageNetInput(args.image_size, transform.mean, transform.std), net, args.freeze_backbone)


def architecture_words(args) -> str:
    return transfer.architecture_text("torchvision", "Linear 10 (softmax in the loss)", args)


# --- the options and the weights ----------------------------------------------

def add_arguments(parser):
    transfer.add_arguments(
        parser, "backbone weights: torchvision's ImageNet weights (downloaded once into the torch hub "
        "cache), none (train from scratch) or a local state_dict of a torchvision ResNet50")


def check_args(args):
    transfer.check_args(args, lambda path: transfer.require_file(path, "a PyTorch state_dict of a torchvision ResNet50"))


def imagenet_weights():
    return ResNet50_Weights.IMAGENET1K_V1


def imagenet_state_dict() -> dict:
    """torchvision's own download-and-cache path, failing in one line when offline."""
    import socket


    weights = imagenet_weights()
    cached = Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(transfer.DOWNLOAD_TIMEOUT_S)
    try:
        return weights.get_state_dict(progress=True, check_hash=True)
    except Exception as exc:  # URLError, timeout, hash mismatch, unreadable cache: all end here
        reason = transfer.first_line(exc)
        if cached.is_file():
            raise UserError(f"the cached ImageNet weights {cached} cannot be read ({reason}): delete the file to "
                            f"download it again, or train from scratch with --weights none") from None
        raise UserError(f"torchvision's ImageNet weights for ResNet50 ({weights}) are not cached and could not be "
                        f"downloaded from {weights.url} ({reason}): put that file at {cached} (or give it with "
                        f"--weights PATH), or train from scratch with --weights none") from None
    finally:
        socket.setdefaulttimeout(previous)


def read_state_dict(path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, truncated, or pickled objects weights_only refuses
        raise UserError(f"--weights {path}: not a PyTorch weights file torch.load can read "
                        f"({transfer.first_line(exc)}); "
                        f"expected a state_dict saved with torch.save(model.state_dict(), PATH)") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"--weights {path}: not a state_dict (a dict of tensors); "
                        f"save one with torch.save(model.state_dict(), PATH)")
    return state


def load_backbone(net, state: dict, source: str) -> None:
    """Every backbone tensor from ``state``, or a clear refusal; a classifier in it is dropped."""
    backbone = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        result = net.load_state_dict(backbone, strict=False)
    except RuntimeError as exc:  # shape mismatches
        lines = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
        raise UserError(f"--weights {source}: not the weights of a torchvision ResNet50 "
                        f"({lines[0] if lines else transfer.first_line(exc)})") from None
    missing = [k for k in result.missing_keys if not k.startswith("fc.")]
    if missing or result.unexpected_keys:
        example = (missing or result.unexpected_keys)[0]
        raise UserError(f"--weights {source}: not the weights of a torchvision ResNet50 ({len(missing)} of its "
                        f"tensors missing, {len(result.unexpected_keys)} unknown ones, e.g. {example!r})")


MODELS = {"MyResNet": my_resnet, "MyResNetDA": my_resnet}
AUGMENT = {"MyResNetDA": REPORT_AUGMENTATION}  # the report's "same + augmentation": exercise 3's transform


def main() -> int:
    args = cli.parse_args(__file__, __doc__, EPOCHS, add_options=add_arguments, check=check_args)
    if args.list:  # weights do not change a count: list without loading (or downloading) them
        args.weights = "none"
        return list_models({name: lambda make=make: make(args) for name, make in MODELS.items()}, args, AUGMENT)
    data = experiment.load_data(DATASET, args)  # uint8 arrays, the same as Keras'; every output checked writable
    device = setup(args)                        # --device, --seed, --precision
    for name in args.models:
        model = MODELS[name](args).to(device)   # --weights, --freeze-backbone, --image-size
        facts = run_facts(model, AUGMENT.get(name), architecture=architecture_words(args))
        with experiment.ModelRun(args, data, name, facts) as run:
            history = train(model, data, args, run, augment=AUGMENT.get(name))  # pytorch/torch_lab.py
            probabilities = predict(model, data.x_test, args.batch_size)  # softmax of the logits, test set
            # Figures, confusion matrix, ten worst, record, and the weights as a state_dict, as one set.
            run.write(history, probabilities, save_model=lambda path: torch.save(model.state_dict(), path))
    return 0


if __name__ == "__main__":
    run_main(main)
