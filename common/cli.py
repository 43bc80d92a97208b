"""The command line of the eight exercise scripts: ``args = parse_args(__file__, __doc__, EPOCHS)``.

Parsing imports no framework of its own, and a bad option is one line (exit 2) before any data loads.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional

from common import parser as options
from common.atomic import check_writable
from common.errors import UserError
from common.parser import Parser
from common.precision import PRECISIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
DEVICES = ("auto", "cpu", "cuda", "mps")
BATCH_SIZE, LEARNING_RATE = 128, 1e-3  # the report names neither: Keras' default batch, Adam's default rate


def build_parser(script: Path, description: str, epochs: dict,
                 add_options: Optional[Callable] = None) -> argparse.ArgumentParser:
    names = list(epochs)
    longer = {name: n for name, n in epochs.items() if n != epochs[names[0]]}
    parser = Parser(prog=f"python {script.parent.name}/{script.name}", description=description)
    parser.add_argument("--models", nargs="+", metavar="NAME", default=names,
                        help=f"models to train, in this order; one or more of: {' '.join(names)} (default: all of them)")
    parser.add_argument("--list", action="store_true",
                        help="build each model, list its architecture and trainable parameters, and exit")
    parser.add_argument("--epochs", type=options.EPOCHS, default=None,
                        help=f"epochs per model (default: the report's, {epochs[names[0]]}"
                             + "".join(f"; {n} for {m}" for m, n in longer.items()) + ")")
    parser.add_argument("--batch-size", type=options.BATCH_SIZE, default=BATCH_SIZE, help="training images per step")
    parser.add_argument("--lr", type=options.LR, default=LEARNING_RATE, help="Adam learning rate (the report names none)")
    parser.add_argument("--limit", type=options.LIMIT, default=None, metavar="N",
                        help="use only the first N training and first N test images (smoke runs)")
    parser.add_argument("--val-split", type=options.VAL_SPLIT, default=0.1,
                        help="fraction of the training set held out for validation (the last images); "
                             "0 validates on the test set, as the original report did")
    parser.add_argument("--seed", type=options.SEED, default=0,
                        help="seeds the initial weights, the shuffling and the augmentation")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto: PyTorch takes the accelerator torch.accelerator finds (CUDA, Apple MPS, "
                             "Intel XPU, ...), Keras a GPU TensorFlow sees; else the CPU")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="fp32, as the report trained; bf16 or fp16 mixed precision on request (the weights "
                             "and the loss stay fp32); auto: bf16 where the device computes it natively (CPUs "
                             "with AMX-BF16 or AVX512-BF16, recent CUDA GPUs; fp16 on older ones), else fp32")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the data (else $LAB_DATA_DIR, then data/ in the repository)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="root for plots/, ten_worst/, results/, models/ and checkpoints/ (default: this "
                             "repository, where a record made with fuller or other settings is kept: see --force)")
    parser.add_argument("--force", action="store_true",
                        help="replace a model's record in the repository even when it was made with more "
                             "epochs, more images or other settings than this run")
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write each epoch's training and validation loss and accuracy as TensorBoard "
                             "event files under DIR/<ex>/<framework>/<model>/ (view: tensorboard --logdir DIR)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each model from its last completed epoch (checkpoints/ under --out)")
    parser.add_argument("--resume-or-restart", action="store_true",
                        help="as --resume, but start a model over when its checkpoint cannot be continued "
                             "(other settings or data, past --epochs) instead of stopping (the campaign's way)")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic algorithms (torch) / op determinism (TensorFlow): "
                             "same seed, same numbers; can be slower")
    if add_options is not None:
        add_options(parser)
    return parser


def parse_args(script, description: str, epochs: dict, argv=None, add_options: Optional[Callable] = None,
               check: Optional[Callable] = None) -> argparse.Namespace:
    """The options of the exercise script at path ``script`` (its ``__file__``), whose models and report
    epochs are ``epochs`` (its EPOCHS). ``add_options(parser)`` / ``check(args)``: an exercise's own options
    (ex4's --weights), checked here, before anything loads."""
    script = Path(script).resolve()
    args = build_parser(script, description.strip().split("\n\n")[0], epochs, add_options).parse_args(argv)
    unknown = [m for m in args.models if m not in epochs]
    if unknown:
        raise UserError(f"unknown model {', '.join(unknown)}: valid models are {', '.join(epochs)}")
    args.models = list(dict.fromkeys(args.models))  # keep order, drop repeats
    args.exercise, args.framework, args.script = script.name.split("_")[0], script.parent.name, script.name
    args.report_epochs = dict(epochs)
    args.record_settings, args.reduced_notes = {}, {}  # what an exercise's own options add to the record
    if check is not None:
        check(args)
    # Without --out a run writes into the repository, where it keeps a fuller record (common.preflight).
    args.out_given = args.out is not None
    args.out = args.out if args.out_given else str(REPO_ROOT)
    if not args.list:
        check_writable(args.out, "--out ")
    return args


def epochs_of(args, name: str) -> int:
    """The epochs model ``name`` trains for: --epochs, else the report's."""
    return args.epochs or args.report_epochs[name]
