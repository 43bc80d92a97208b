"""The command line shared by all eight exercise scripts.

Parsing imports neither TensorFlow nor torch, so ``--help`` and a bad option
answer at once; the framework is imported only to build models (``--list``
builds each one to count its parameters) and to train.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from common import parser as options
from common.atomic import check_writable
from common.entry import run_command
from common.precision import PRECISIONS
from common.errors import UserError
from common.parser import Parser

REPO_ROOT = Path(__file__).resolve().parents[1]
DEVICES = ("auto", "cpu", "cuda", "mps")
STRATEGIES = ("default", "mirrored", "multiworker")


def build_parser(exercise) -> argparse.ArgumentParser:
    names = list(exercise.models)
    parser = Parser(prog=f"python {exercise.framework}/{exercise.script}", description=exercise.description)
    parser.add_argument("--models", nargs="+", metavar="NAME", default=names,
                        help=f"models to train, in this order; one or more of: {' '.join(names)} (default: all of them)")
    parser.add_argument("--list", action="store_true",
                        help="build each model, list its architecture and trainable parameters, and exit")
    parser.add_argument("--epochs", type=options.EPOCHS, default=None,
                        help=f"epochs per model (default: the report's, {exercise.epochs}"
                             + "".join(f"; {n} for {m}" for m, n in exercise.longer.items()) + ")")
    parser.add_argument("--batch-size", type=options.BATCH_SIZE, default=exercise.batch_size,
                        help="training images per step")
    parser.add_argument("--lr", type=options.LR, default=exercise.lr, help="Adam learning rate (the report names none)")
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
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the data (else $LAB_DATA_DIR, then data/ in the repository)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="root for plots/, ten_worst/, results/, models/ and checkpoints/ (default: this "
                             "repository, where a record made with fuller or other settings is kept: see --force)")
    parser.add_argument("--force", action="store_true",
                        help="without --out: replace a model's record even when it was made with more epochs, "
                             "more images or other settings than this run")
    parser.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="also write each epoch's training and validation loss and accuracy as TensorBoard "
                             "event files under DIR/<ex>/<framework>/<model>/ (view: tensorboard --logdir DIR)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each model from its last completed epoch (checkpoints/ under --out)")
    parser.add_argument("--resume-or-restart", action="store_true",
                        help="as --resume, but start a model over when its checkpoint cannot be continued "
                             "(other settings or data, past --epochs) instead of stopping (the campaign's way)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto: bf16 mixed precision where the device computes bf16 natively (CPUs with "
                             "AMX-BF16 or AVX512-BF16, CUDA GPUs with bf16; fp16 on older CUDA GPUs), fp32 "
                             "elsewhere; the weights and the loss stay fp32 (see README, Performance)")
    parser.add_argument("--no-mixed-precision", dest="mixed_precision", action="store_false",
                        help="the old switch: --precision fp32, and PyTorch keeps the plain NCHW layout "
                             "instead of channels_last")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic algorithms (torch) / op determinism (TensorFlow): "
                             "same seed, same numbers; can be slower")
    if exercise.framework == "keras":
        parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                            help="tf.distribute: default = none; mirrored = MirroredStrategy over the visible "
                                 "GPUs (over 2 logical CPU devices when there is none); multiworker = "
                                 "MultiWorkerMirroredStrategy over the machines $TF_CONFIG lists. "
                                 "--batch-size stays the global batch")
    else:
        parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                            help="Keras only; PyTorch runs on several GPUs or machines under torchrun, e.g. "
                                 f"torchrun --nproc_per_node 2 pytorch/{exercise.script} (see README)")
    for add in exercise.extra_arguments:
        add(parser)
    return parser


def parse_args(exercise, argv=None) -> argparse.Namespace:
    args = build_parser(exercise).parse_args(argv)
    unknown = [m for m in args.models if m not in exercise.models]
    if unknown:
        raise UserError(f"unknown model {', '.join(unknown)}: valid models are {', '.join(exercise.models)}")
    args.models = list(dict.fromkeys(args.models))  # keep order, drop repeats
    if not args.mixed_precision:
        args.precision = "fp32"
    # Without --out a run writes into the repository, where it keeps a fuller record (common.preflight).
    args.out_given = args.out is not None
    args.out = args.out if args.out_given else str(REPO_ROOT)
    if exercise.framework != "keras" and args.strategy != "default":
        raise UserError(f"--strategy {args.strategy} is for the Keras scripts: run PyTorch on several GPUs or "
                        f"machines with torchrun, e.g. torchrun --nproc_per_node 2 "
                        f"{exercise.framework}/{exercise.script} (see README)")
    if exercise.check_args is not None:
        exercise.check_args(args)
    if args.list:
        return args
    check_writable(args.out, "--out ")
    return args


def format_list(exercise, backend, args) -> str:
    """Each model as the script builds it: trainable parameters and the architecture, in the report's words."""
    from common.experiment import describe

    # Weights do not change a count: ex4 lists without loading (or downloading) them.
    build_args = argparse.Namespace(**{**vars(args), "weights": "none"}) if hasattr(args, "weights") else args
    rows = [f"{'model':<12} {'params':>11}  architecture"]
    for name in exercise.models:
        model = backend.build(exercise.builder(name, build_args), build_args)
        architecture = describe(exercise, backend, model, exercise.augment.get(name), args)["architecture"]
        note = exercise.notes.get(name)
        rows.append(f"{name:<12} {backend.trainable_params(model):>11,}  {architecture}  "
                    f"[{exercise.report_epochs(name)} epochs]" + (f"  ({note})" if note else ""))
    return "\n".join(rows)


def import_backend(exercise):
    """keras/keras_lab.py or pytorch/torch_lab.py, beside the script (its folder is on sys.path)."""
    return importlib.import_module({"keras": "keras_lab", "pytorch": "torch_lab"}[exercise.framework])


def main(exercise, argv=None) -> int:
    """Entry point of every exercise script: parse, then list or run; errors and interrupts are one line."""
    def body():
        args = parse_args(exercise, argv)
        if args.list:
            print(format_list(exercise, import_backend(exercise), args))
            return 0
        from common.experiment import run  # numpy/matplotlib only; still no framework
        run(exercise, args, lambda: import_backend(exercise))
        return 0

    again = " ".join(sys.argv) + ("" if "--resume" in sys.argv else " --resume")
    return run_command(body, f"finished models are saved, the current one is checkpointed at its last completed "
                             f"epoch; continue with: python {again}")
