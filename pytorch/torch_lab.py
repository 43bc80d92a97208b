"""PyTorch half of the shared flow: device, model builder, the training loop.

Data lives on the device as one normalised float tensor; each batch is a
slice of it (no DataLoader, no per-sample Python). See common/experiment.py
for the flow that calls these functions.
"""
from __future__ import annotations

import os
import time
from importlib import metadata

import numpy as np
import torch
from torch import nn

from augment import augment_batch
from common.architectures import (BatchNorm, Conv, Dense, Dropout, Flatten, MaxPool, ReLU, Softmax,
                                  output_shapes)
from common.errors import UserError

DEVICE = torch.device("cpu")


def choose_device(requested: str) -> torch.device:
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if requested == "cuda" and not cuda:
        raise UserError("--device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    if requested == "mps" and not mps:
        raise UserError("--device mps: Apple MPS is not available (torch.backends.mps.is_available() is False)")
    return torch.device(requested)


def speedups(device_type: str, requested: bool = True, bf16_supported: bool = False) -> tuple:
    """(autocast dtype or None, channels_last) for a device.

    On CUDA, mixed precision and channels_last memory layout are large wins
    (tensor cores); on a CPU without bf16 hardware, bf16 is 3-16x slower, so
    both stay off there and on MPS.
    """
    if device_type != "cuda" or not requested:
        return None, False
    return (torch.bfloat16 if bf16_supported else torch.float16), True


def setup(args) -> str:
    global DEVICE
    DEVICE = choose_device(args.device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if getattr(args, "deterministic", False):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    if DEVICE.type == "cuda":
        amp, _ = speedups("cuda", getattr(args, "mixed_precision", True), torch.cuda.is_bf16_supported())
        return f"cuda ({torch.cuda.get_device_name(DEVICE)}; " + \
            (f"{str(amp).removeprefix('torch.')} autocast, channels_last)" if amp else "fp32)")
    return f"{DEVICE.type} ({torch.get_num_threads()} threads)" if DEVICE.type == "cpu" else DEVICE.type


def versions() -> dict:
    return {"torch": torch.__version__, "torchvision": metadata.version("torchvision")}


# --- models ---------------------------------------------------------------

def build(model_def, input_shape, n_classes, args) -> nn.Module:
    if model_def.build is not None:
        return model_def.build(input_shape, n_classes, args).to(DEVICE)
    return from_layers(model_def.layers, input_shape).to(DEVICE)


def from_layers(layers, input_shape) -> nn.Sequential:
    """nn.Sequential from the framework-free layer list (channels-last shapes in, NCHW model out)."""
    modules = []
    shape = tuple(input_shape)
    for layer, out in zip(layers, output_shapes(layers, input_shape)):
        if isinstance(layer, Conv):
            modules.append(nn.Conv2d(shape[-1], layer.filters, layer.kernel, stride=layer.stride))
        elif isinstance(layer, MaxPool):
            modules.append(nn.MaxPool2d(layer.size, stride=layer.stride))
        elif isinstance(layer, BatchNorm):
            modules.append(nn.BatchNorm2d(shape[-1]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.rate))
        elif isinstance(layer, ReLU):
            modules.append(nn.ReLU())
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
        elif isinstance(layer, Dense):
            modules.append(nn.Linear(shape[0], layer.units))
            if layer.activation == "relu":
                modules.append(nn.ReLU())
            # 'softmax' on the output layer lives in CrossEntropyLoss, which takes logits.
        elif isinstance(layer, Softmax):
            modules.append(nn.Softmax(dim=1))
        else:
            raise TypeError(f"unknown layer {layer!r}")
        shape = out
    return nn.Sequential(*modules)


def trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --- data and training ----------------------------------------------------

def to_device(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, C, H, W) in [0, 1], on the device, once."""
    return torch.from_numpy(images).to(DEVICE).permute(0, 3, 1, 2).float().div_(255).contiguous()


@torch.no_grad()
def evaluate(model, x, y, batch_size) -> tuple:
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        out = model(x[i:i + batch_size])
        loss += loss_fn(out, y[i:i + batch_size]).item()
        correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return loss / len(x), correct / len(x)


def train(model, model_def, split, epochs, args, checkpoint=None) -> dict:
    x, y = to_device(split.x_train), torch.from_numpy(split.y_train).to(DEVICE)
    x_val, y_val = to_device(split.x_val), torch.from_numpy(split.y_val).to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    amp, channels_last = speedups(DEVICE.type, getattr(args, "mixed_precision", True),
                                  DEVICE.type == "cuda" and torch.cuda.is_bf16_supported())
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)  # fp16 needs loss scaling, bf16 not
    shuffle = torch.Generator().manual_seed(args.seed)
    augment_rng = torch.Generator(device=DEVICE).manual_seed(args.seed + 1)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": []}
    first_epoch = 1

    def state() -> dict:  # everything the next epoch depends on
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "shuffle": shuffle.get_state(),
                "augment": augment_rng.get_state(), "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if DEVICE.type == "cuda" else []}

    resumed = checkpoint.load(lambda folder: torch.load(folder / "state.pt", map_location="cpu", weights_only=True)) \
        if checkpoint else None
    if resumed:
        done, history, saved = resumed
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        shuffle.set_state(saved["shuffle"])
        augment_rng.set_state(saved["augment"])
        torch.set_rng_state(saved["torch"])
        if saved["cuda"]:
            torch.cuda.set_rng_state_all(saved["cuda"])
        first_epoch = done + 1
    resumed_seconds = sum(history["seconds"])

    n, bs = len(x), args.batch_size
    for epoch in range(first_epoch, epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=shuffle).to(DEVICE)
        total_loss = torch.zeros((), device=DEVICE)
        correct = torch.zeros((), device=DEVICE, dtype=torch.long)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            xb, yb = x[idx], y[idx]
            if model_def.augment is not None:
                xb = augment_batch(xb, model_def.augment, augment_rng)
            with torch.autocast(DEVICE.type, dtype=amp, enabled=amp is not None):
                out = model(xb)
                loss = loss_fn(out, yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            # Accumulate on the device: no host sync per batch on a GPU.
            total_loss += loss.detach() * len(idx)
            correct += (out.argmax(1) == yb).sum()
        val_loss, val_acc = evaluate(model, x_val, y_val, max(bs, 512))
        seconds = time.perf_counter() - start
        for key, value in zip(history, (total_loss.item() / n, correct.item() / n, val_loss, val_acc, seconds)):
            history[key].append(value)
        print(f"epoch {epoch:>3}/{epochs}  loss {history['loss'][-1]:.4f}  acc {history['accuracy'][-1]:.4f}"
              f"  | val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  | {seconds:.1f} s", flush=True)
        if not np.isfinite(history["loss"][-1]):
            break  # the flow reports the divergence and writes nothing
        if checkpoint:
            checkpoint.save(epoch, history, lambda folder: torch.save(state(), folder / "state.pt"))
    return {**history, "resumed_seconds": resumed_seconds}


@torch.no_grad()
def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities: softmax of the model's outputs (what the loss treats as its distribution)."""
    model.eval()
    x = to_device(images)
    chunks = [torch.softmax(model(x[i:i + max(batch_size, 512)]), 1) for i in range(0, len(x), max(batch_size, 512))]
    return torch.cat(chunks).float().cpu().numpy()


# --- figures --------------------------------------------------------------

@torch.no_grad()
def augment_examples(augmentation, images_uint8_nhwc: np.ndarray, seed: int) -> np.ndarray:
    """A few uint8 (N, H, W, C) images through the training-time augmentation, as uint8.

    The same ``augment_batch`` as ``train`` uses (on the CPU: a handful of
    images), each image with its own random transform.
    """
    x = torch.from_numpy(np.ascontiguousarray(images_uint8_nhwc)).permute(0, 3, 1, 2).float().div_(255)
    out = augment_batch(x, augmentation, torch.Generator().manual_seed(seed))
    return out.mul_(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
