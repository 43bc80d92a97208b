"""Options shared by both exercise-4 scripts (ResNet50 transfer learning).

``--weights imagenet|none|PATH``, ``--freeze-backbone`` and ``--image-size``
mean the same in Keras and PyTorch; only what a weights file looks like
differs, so each script passes its own help text and file check.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from common.errors import UserError
from common.parser import whole

DOWNLOAD_TIMEOUT_S = 30  # per network operation of a weights download: an unreachable server fails fast


def add_arguments(parser, weights_help: str) -> None:
    parser.add_argument("--weights", default="imagenet", metavar="imagenet|none|PATH", help=weights_help)
    parser.add_argument("--freeze-backbone", action="store_true",
                        help="train only the new classifier (the report trained every layer)")
    parser.add_argument("--image-size", type=whole(32, 1024), default=32, metavar="N",
                        help="upsample the 32x32 images to NxN inside the model (the report used 32; "
                             "ImageNet models were trained at 224)")


def check_args(args, check_file: Callable[[str], None]) -> None:
    """Validate the options before any data or framework loads, and describe them in the record."""
    if args.weights.lower() in ("imagenet", "none"):
        args.weights = args.weights.lower()
    else:
        check_file(args.weights)
    args.record_settings = {"weights": args.weights, "freeze_backbone": args.freeze_backbone,
                            "image_size": args.image_size}
    args.reduced_notes = {}
    if args.weights == "none":
        args.reduced_notes["weights"] = "no pretrained weights (--weights none)"
    if args.freeze_backbone:
        args.reduced_notes["freeze_backbone"] = "backbone frozen (--freeze-backbone): only the classifier trained"
    if args.image_size != 32:
        args.reduced_notes["image_size"] = f"images upsampled to {args.image_size}x{args.image_size} (report: 32x32)"


def architecture_text(backbone: str, head: str, args) -> str:
    """The record's architecture line for these options, the same words in both frameworks."""
    source = {"imagenet": "ImageNet weights", "none": "no pretrained weights"}.get(args.weights,
                                                                                 f"weights from {args.weights}")
    text = f"ResNet50 ({backbone}, {source}, {'frozen' if args.freeze_backbone else 'every layer trainable'}) - {head}"
    return text if args.image_size == 32 else f"upsample to {args.image_size}x{args.image_size} - {text}"


def first_line(exc) -> str:
    """An exception's first line (or its type's name) for a one-line error; library messages run long."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def require_file(path: str, what: str) -> None:
    if not Path(path).is_file():
        raise UserError(f"--weights {path}: no such file (give imagenet, none, or the path of {what})")
