"""The PyTorch side of the lab: the device, the training loop (``train``), predictions, saving.

The exercise scripts build their models (``nn.Sequential`` or a small
``nn.Module``) and call these functions by name. Data lives on the device as
one normalised float tensor; each batch is a slice of it (no DataLoader, no
per-sample Python).

Under torchrun (``torchrun --nproc_per_node N pytorch/ex1_mnist.py ...``) the
same code trains with DistributedDataParallel (the lines marked DDP): every
process holds the data, draws the same seeded permutation each epoch and takes
its share of each batch; ``--batch-size`` stays the *global* batch, so one
optimiser step sees the same images as in a single-process run. Metrics are
summed over the processes; only rank 0 prints and writes.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
from importlib import metadata
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from common import precision
from common.doctor import gpu_mismatch_warning
from common.tensorboard_events import EpochBoard
from common.errors import UserError
from common.progress import StepProgress

DEVICE = torch.device("cpu")
# Under torchrun: this process's rank, the number of processes, and what setup() records about them.
RANK, WORLD = 0, 1
DISTRIBUTED = None  # None without torchrun, else {"launcher": "torchrun", "backend": ..., "world_size": ...}


def choose_device(requested: str) -> torch.device:
    """auto: the accelerator torch.accelerator reports (the one this torch build is for: CUDA, MPS, XPU,
    ...) if it is there at run time, else the CPU. An explicit cuda or mps that is not there: one line."""
    if requested == "auto":
        if torch.accelerator.is_available():
            return torch.device(torch.accelerator.current_accelerator().type)  # no index: the current device
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is False)")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps: Apple MPS is not available (torch.backends.mps.is_available() is False)")
    return torch.device(requested)


AMP_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
PRECISION = "fp32"  # what setup() chose for this run (common.precision)


def cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16), as torch reads it (cpuinfo), or
    from the CPU's flags on a torch without torch.cpu.get_capabilities (before 2.7)."""
    if not hasattr(torch.cpu, "get_capabilities"):
        return bool(precision.cpu_bf16_features())
    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def choose_precision(requested: str, device: torch.device) -> str:
    """--precision as asked; for auto, what the device computes natively (only then is the hardware asked)."""
    if requested != "auto":
        return precision.choose(requested, device.type)
    return precision.choose(requested, device.type, cpu_bf16=device.type == "cpu" and cpu_bf16(),
                            cuda_bf16=device.type == "cuda" and torch.cuda.is_bf16_supported())


def speedups(device_type: str, precision_name: str = "fp32", plain_layout: bool = False) -> tuple:
    """(autocast dtype or None, channels_last) for a device and a precision.

    channels_last on CPU and CUDA (faster there: the README's Performance section),
    not on MPS; ``plain_layout`` keeps the plain NCHW layout (the benchmark's comparison).
    """
    return AMP_DTYPES[precision_name], device_type in ("cuda", "cpu") and not plain_layout


def device_speedups(args, precision_name=None) -> tuple:
    """speedups() for DEVICE and the run's precision (or the one given); the benchmark's --plain-layout
    and the re-measuring of a model trained without channels_last set ``args.plain_layout``."""
    return speedups(DEVICE.type, precision_name or PRECISION, getattr(args, "plain_layout", False))


def prepare_training(model, x, args, precision_name=None) -> tuple:
    """Put the model (and the training images x, unless None) in the device's layout: (x, amp, scaler).

    What train and both benchmark loops call, so they time the step that trains.
    """
    amp, channels_last = device_speedups(args, precision_name)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        if x is not None:
            x = x.contiguous(memory_format=torch.channels_last)
    # fp16 needs loss scaling (its range is narrow); bf16 has fp32's range and needs none.
    scaler = torch.amp.GradScaler(DEVICE.type, enabled=amp == torch.float16)
    return x, amp, scaler


def autocast(amp=None):
    """Layers computed in ``amp`` (bf16, fp16) on this device; the weights stay fp32. None: plain fp32."""
    return torch.autocast(DEVICE.type, dtype=amp, enabled=amp is not None)


def launched_by_torchrun(env=None) -> bool:
    """torchrun (torch.distributed.run) gives every process its RANK, WORLD_SIZE and LOCAL_RANK."""
    env = os.environ if env is None else env
    return all(key in env for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def init_distributed(device: torch.device, batch_size: int) -> torch.device:
    """Join torchrun's process group: NCCL on CUDA (one GPU per process: cuda:LOCAL_RANK), gloo on the CPU."""
    global RANK, WORLD, DISTRIBUTED
    world, local_rank = int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    if not dist.is_available():
        raise UserError("torchrun: this torch build has no torch.distributed")
    if device.type == "mps":
        raise UserError("torchrun: torch.distributed does not run on Apple MPS; add --device cpu")
    if batch_size < world:
        raise UserError(f"--batch-size {batch_size} is the global batch, shared by the {world} processes: "
                        f"give at least {world}")
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"torchrun started process {local_rank} on this machine, which has "
                            f"{torch.cuda.device_count()} CUDA GPU(s): give --nproc_per_node "
                            f"{torch.cuda.device_count()} or fewer")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    RANK, WORLD = dist.get_rank(), dist.get_world_size()
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", WORLD))
    DISTRIBUTED = {"launcher": "torchrun", "backend": dist.get_backend(), "world_size": WORLD,
                   "nodes": max(1, WORLD // max(1, local_world)), "processes_per_node": local_world,
                   "global_batch_size": batch_size, "per_process_batch_size": -(-batch_size // WORLD),
                   "batches": "--batch-size is the global batch: each optimiser step averages the gradients "
                              "of the processes' shares of one batch"}
    if RANK != 0:  # one voice: rank 0 prints the progress (errors still reach stderr)
        sys.stdout = open(os.devnull, "w")
    atexit.register(dist.destroy_process_group)
    return device


def is_main() -> bool:
    """Whether this process writes the outputs (always, without torchrun)."""
    return RANK == 0


def setup(args) -> torch.device:
    """The device (--device), the seeds, determinism and the precision (--precision) of this run; under
    torchrun, this process's place in the group. Returns the device the script puts its models on."""
    global DEVICE, PRECISION, DEVICE_TEXT
    DEVICE = choose_device(args.device)
    if args.device == "auto" and DEVICE.type == "cpu":  # an NVIDIA GPU this torch cannot use: say why, in one line
        warning = gpu_mismatch_warning("pytorch", torch.cuda.is_available(), torch.version.cuda)
        if warning:
            print(f"warning: {warning}", flush=True)
    if launched_by_torchrun() and not DISTRIBUTED:
        DEVICE = init_distributed(DEVICE, args.batch_size)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if getattr(args, "deterministic", False):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    PRECISION = choose_precision(getattr(args, "precision", "auto"), DEVICE)
    amp, channels_last = device_speedups(args)
    layout = ", channels_last" if channels_last else ""
    autocast_text = f"; {PRECISION} autocast" if amp else ""
    if DEVICE.type == "cuda":
        device = f"cuda ({torch.cuda.get_device_name(DEVICE)}; {PRECISION if amp else 'fp32'}{layout})"
    elif DEVICE.type == "cpu":
        device = f"cpu ({torch.get_num_threads()} threads{layout}{autocast_text})"
    else:
        device = DEVICE.type + (f" ({PRECISION} autocast)" if amp else "")
    if DISTRIBUTED:
        device += f" x {WORLD} processes (torchrun, {DISTRIBUTED['backend']})"
    DEVICE_TEXT = device
    print(f"pytorch on {device}", flush=True)
    return DEVICE


DEVICE_TEXT = "cpu"  # the record's words for the device, as setup() chose it


def run_facts(model: nn.Module, augment=None, architecture: Optional[str] = None) -> dict:
    """What a model's record says about it and about this process (common.experiment.ModelRun);
    ``architecture``: the words for a model built by code (ex4), else read from its layers."""
    architecture = architecture or layer_words(model)
    if augment is not None:
        architecture += f" + augmentation ({augment})"
    return {"architecture": architecture, "augmentation": str(augment) if augment is not None else None,
            "trainable_params": trainable_params(model), "device": DEVICE_TEXT, "precision": PRECISION,
            "versions": versions(), "distributed": DISTRIBUTED, "is_main": is_main()}


def list_models(models: dict, args, augment: Optional[dict] = None) -> int:
    """--list: each model as the script builds it, with its trainable parameters and its report epochs."""
    print(f"{'model':<12} {'params':>11}  architecture")
    for name, make in models.items():
        model = make()
        augmented = (augment or {}).get(name)
        text = layer_words(model) + (f" + augmentation ({augmented})" if augmented is not None else "")
        print(f"{name:<12} {trainable_params(model):>11,}  {text}  [{args.report_epochs[name]} epochs]")
    return 0


def versions() -> dict:
    return {"torch": torch.__version__, "torchvision": metadata.version("torchvision")}


def trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_words(model: nn.Module) -> str:
    """The architecture in the report's words, read from the built model: "Conv 32/3 - Flatten - Dense 10 softmax".

    A ReLU right after a Linear is that layer's activation ("Dense 128 relu");
    the last Linear is the output layer, whose softmax the report lists and
    CrossEntropyLoss applies ("Dense 10 softmax").
    """
    modules = list(model) if isinstance(model, nn.Sequential) else [model]
    last_linear = max((i for i, m in enumerate(modules) if isinstance(m, nn.Linear)), default=None)
    parts = []
    for i, m in enumerate(modules):
        if isinstance(m, nn.Conv2d):
            parts.append(f"Conv {m.out_channels}/{m.kernel_size[0]}" + (f"/s{m.stride[0]}" if m.stride[0] != 1 else ""))
        elif isinstance(m, nn.MaxPool2d):
            parts.append(f"MaxPool {m.kernel_size}/s{m.stride}")
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            parts.append("BatchNorm")
        elif isinstance(m, nn.Dropout):
            parts.append(f"Dropout {m.p:g}")
        elif isinstance(m, nn.ReLU):
            if i and isinstance(modules[i - 1], nn.Linear):
                parts[-1] += " relu"
            else:
                parts.append("ReLU")
        elif isinstance(m, nn.Flatten):
            parts.append("Flatten")
        elif isinstance(m, nn.Linear):
            parts.append(f"Dense {m.out_features}" + (" softmax" if i == last_linear else ""))
        elif isinstance(m, nn.Softmax):
            parts.append("Softmax")
        else:
            parts.append(type(m).__name__)
    return " - ".join(parts)


def ends_in_softmax(model: nn.Module) -> bool:
    """Whether the model already outputs probabilities (old_model1, the report's Nota Bene)."""
    return isinstance(model, nn.Sequential) and isinstance(model[-1], nn.Softmax)


class ImageNetInput(nn.Module):
    """[0, 1] images -> what ImageNet weights expect: upsampled (if asked) and normalised."""

    def __init__(self, size, mean, std):
        super().__init__()
        self.size = size
        # Not saved in state_dict: constants of the weights, not learned.
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def extra_repr(self):
        return f"size={self.size}"


class TransferResNet(nn.Module):
    """ImageNetInput, then a torchvision ResNet whose BatchNorm stays in inference mode when it is frozen."""

    def __init__(self, preprocess, resnet, frozen):
        super().__init__()
        self.preprocess, self.resnet, self.frozen = preprocess, resnet, frozen

    def forward(self, x):
        return self.resnet(self.preprocess(x))

    def train(self, mode=True):
        super().train(mode)
        if self.frozen:  # frozen BatchNorm keeps its ImageNet statistics, as in Keras
            for module in self.resnet.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self


# --- data and training ----------------------------------------------------

def to_device(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, C, H, W) in [0, 1], on the device, once."""
    return torch.from_numpy(images).to(DEVICE).permute(0, 3, 1, 2).float().div_(255).contiguous()


@torch.no_grad()
def evaluate_sums(model, x, y, batch_size) -> tuple:
    """(summed loss, number correct, number of images) of one process's images."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        with autocast(AMP_DTYPES[PRECISION]):  # as the model trains
            out = model(x[i:i + batch_size])
        out = out.float()
        loss += loss_fn(out, y[i:i + batch_size]).item()
        correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return loss, correct, len(x)


def evaluate(model, x, y, batch_size) -> tuple:
    """(mean loss, accuracy); under torchrun x is this process's share, and the result the global one."""
    loss, correct, n = sum_over_processes(*evaluate_sums(model, x, y, batch_size))
    return loss / n, correct / n


def sum_over_processes(*values) -> tuple:
    """The values added up over the processes (as they are without torchrun), as Python numbers."""
    if not DISTRIBUTED:
        return values
    total = torch.tensor([float(v) for v in values], dtype=torch.float64, device=DEVICE)
    dist.all_reduce(total)
    return tuple(total.tolist())


def sync_buffers(model) -> None:
    """BatchNorm statistics as rank 0 has them, everywhere (DDP syncs them only at the next forward)."""
    if DISTRIBUTED:
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)


def optimisation_step(net, optimizer, loss_fn, xb, yb, amp=None, scaler=None) -> tuple:
    """One forward, backward and Adam step: the training loop's, and the benchmarks' (outputs, loss)."""
    with autocast(amp):
        out = net(xb)
    out = out.float()  # the loss (and its softmax) in fp32 whatever the layers computed in
    loss = loss_fn(out, yb)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return out, loss


def train(model, split, args, run, augment=None) -> dict:
    """Adam on shuffled batches sliced from the training tensor, for ``run.epochs`` epochs; validation and a
    checkpoint (``run.checkpoint``) after each. Returns the per-epoch history.

    ``run``: the model's common.experiment.ModelRun (its epochs, checkpoint and TensorBoard folder).
    ``augment(batch, generator)``: the script's batched transform, applied to training batches only.
    Under torchrun (the lines marked DDP) every process takes its share of each global batch and the
    metrics are summed over them.
    """
    epochs, checkpoint = run.epochs, run.checkpoint
    if len(split.x_train) < WORLD:
        raise UserError(f"{len(split.x_train)} training image(s) cannot be shared by {WORLD} processes: "
                        f"raise --limit")
    x, y = to_device(split.x_train), torch.from_numpy(split.y_train).to(DEVICE)
    # DDP: each process validates on every WORLD-th image (RANK::WORLD is all of them without torchrun).
    x_val, y_val = to_device(split.x_val[RANK::WORLD]), torch.from_numpy(split.y_val[RANK::WORLD]).to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()  # takes logits: the output layer's softmax is in here
    x, amp, scaler = prepare_training(model, x, args)
    shuffle = torch.Generator().manual_seed(args.seed)  # the same permutation in every process
    augment_rng = torch.Generator(device=DEVICE).manual_seed(args.seed + 1 + RANK)  # its own transforms
    if RANK:
        torch.manual_seed(args.seed + RANK)  # DDP: its own dropout masks (the weights are built, and rank 0's)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": []}
    first_epoch = resume(checkpoint, model, optimizer, shuffle, augment_rng, history) + 1
    net, step_loss = wrapped_for_ddp(model) if DISTRIBUTED else (model, lambda batch: loss_fn)  # DDP

    board = EpochBoard(run.tensorboard) if run.tensorboard is not None and is_main() else None
    n, bs = len(x), args.batch_size
    for epoch in range(first_epoch, epochs + 1):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(n, generator=shuffle).to(DEVICE)
        # Summed on the device: no host sync per batch on a GPU.
        total_loss = torch.zeros((), device=DEVICE)
        correct = torch.zeros((), device=DEVICE, dtype=torch.long)
        seen = 0
        progress = StepProgress(epoch, epochs, -(-n // bs))
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            batch = len(idx)  # the global batch
            if DISTRIBUTED:
                if batch < WORLD:
                    break  # DDP: a last batch too small to give every process an image is left out
                idx = idx[RANK::WORLD]  # DDP: this process's share of the batch
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb, augment_rng)
            out, loss = optimisation_step(net, optimizer, step_loss(batch), xb, yb, amp, scaler)
            total_loss += loss.detach() * (len(idx) if not DISTRIBUTED else batch / WORLD)
            correct += (out.argmax(1) == yb).sum()
            seen += len(idx)
            progress.step(i // bs + 1, lambda: total_loss.item() / seen)
        if not DISTRIBUTED:
            train_loss, train_acc = total_loss.item() / n, correct.item() / n
        else:  # DDP: the global numbers, and rank 0's BatchNorm statistics everywhere
            total, right, count = sum_over_processes(total_loss.item(), correct.item(), seen)
            train_loss, train_acc = total / count, right / count
            sync_buffers(model)
        val_loss, val_acc = evaluate(model, x_val, y_val, max(bs, 512))
        seconds = time.perf_counter() - start
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc, seconds)):
            history[key].append(value)
        print(f"epoch {epoch:>3}/{epochs}  loss {train_loss:.4f}  acc {train_acc:.4f}"
              f"  | val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  | {seconds:.1f} s", flush=True)
        if board:
            board.add(epoch, train_loss, train_acc, val_loss, val_acc)
        if not np.isfinite([train_loss, train_acc, val_loss, val_acc]).all():
            break  # ModelRun.write reports the divergence and writes nothing; no checkpoint of a diverged epoch
        if checkpoint:
            save_checkpoint(checkpoint, epoch, history, model, optimizer, shuffle, augment_rng)
    if board:
        board.close()
    return history


def wrapped_for_ddp(model) -> tuple:
    """DDP: the model wrapped to average the gradients over the processes in backward(), and the loss of a
    process's share of a global batch of ``batch`` images, scaled so that the average is the global mean."""
    from torch.nn.parallel import DistributedDataParallel

    net = DistributedDataParallel(model, device_ids=[DEVICE.index] if DEVICE.type == "cuda" else None)
    loss_sum = nn.CrossEntropyLoss(reduction="sum")
    return net, lambda batch: lambda out, target: loss_sum(out, target) * (WORLD / batch)


def save_checkpoint(checkpoint, epoch: int, history: dict, model, optimizer, shuffle, augment_rng) -> None:
    """The state after ``epoch``: weights, Adam's moments, and every random-number generator the next epoch
    draws from, so a resumed run trains as an uninterrupted one."""
    ranks = from_every_process(generators(augment_rng)) if DISTRIBUTED else None  # DDP: every process's generators
    if is_main():  # rank 0 saves; the others go on, and wait for it at the next epoch's first step
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "shuffle": shuffle.get_state(), **generators(augment_rng)}
        if ranks is not None:
            state["ranks"] = ranks
        checkpoint.save(epoch, history, lambda folder: torch.save(state, folder / "state.pt"), size=tensor_bytes(state))


def tensor_bytes(obj) -> int:
    """The bytes of every tensor in a (nested) state: about what torch.save writes."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(value) for value in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(value) for value in obj)
    return 0


def generators(augment_rng) -> dict:
    """The random-number generators the next epoch depends on, besides the shuffle (the same everywhere)."""
    return {"augment": augment_rng.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if DEVICE.type == "cuda" else []}


def resume(checkpoint, model, optimizer, shuffle, augment_rng, history) -> int:
    """Load the last completed epoch's state, if --resume finds one: the epoch to continue after (0: none).

    Every process reads the checkpoint (under torchrun --out must be the same folder for all of them). The
    state goes into the model and the optimiser inside ``checkpoint.load``, which says in one line why a
    state does not fit (the model's code changed since, a damaged file).
    """
    def load(folder):
        saved = torch.load(folder / "state.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        return saved

    resumed = checkpoint.load(load) if checkpoint else None
    if DISTRIBUTED:
        check_same_start(resumed[0] if resumed else 0)
    if not resumed:
        return 0
    done, saved_history, saved = resumed
    history.update(saved_history)
    shuffle.set_state(saved["shuffle"])
    per_rank = saved.get("ranks", [])
    mine = per_rank[RANK] if len(per_rank) == WORLD else saved  # else: another number of processes made it
    augment_rng.set_state(mine["augment"])
    torch.set_rng_state(mine["torch"])
    if mine["cuda"]:
        torch.cuda.set_rng_state_all(mine["cuda"])
    return done


def from_every_process(obj) -> list:
    """Every process's ``obj``, in rank order, in every process."""
    out = [None] * WORLD
    dist.all_gather_object(out, obj)
    return out


def check_same_start(epoch: int) -> None:
    """Refuse, in every process, a resume that some processes would start from another epoch."""
    epochs = from_every_process(epoch)
    if len(set(epochs)) > 1:
        raise UserError(f"the torchrun processes found different checkpoints under --out (last epochs "
                        f"{', '.join(map(str, epochs))} by rank): on several machines --out must be a shared "
                        f"folder, or hold a copy of rank 0's checkpoints/ on every machine")


def save_model(model, path) -> None:
    """The trained weights as a state_dict: ``model.load_state_dict(torch.load(path, weights_only=True))``
    into the script's own builder restores it (plain tensors, no pickled code). ``path`` is the temporary
    name common.atomic renames into place with the run's other outputs."""
    torch.save(model.state_dict(), path)


def load_model(path, make):
    """The script's model (``make``) with the saved weights, or one line saying why they do not fit."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a Keras file, a pickle of objects, a truncated file...
        raise UserError(f"{path}: not a PyTorch state_dict torch.load(weights_only=True) can read "
                        f"({type(exc).__name__})") from None
    model = make()
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:  # other layers or shapes
        detail = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), type(exc).__name__)
        raise UserError(f"{path}: the weights of another architecture ({detail})") from None
    return model.to(DEVICE)


def prepare_inference(model, args) -> None:
    """The memory layout the model trained and was measured in (channels_last, unless args.plain_layout)."""
    prepare_training(model, None, args)


@torch.no_grad()
def predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities: the softmax of the model's logits, or its own softmax if it ends in one.

    old_model1 ends in one: a second softmax would squash every confident
    answer to 1/(e+9) and tie the ten worst images. Under torchrun every
    process predicts every WORLD-th image and all of them get the whole result.
    """
    model.eval()
    if DISTRIBUTED:
        return predict_shared(model, images, batch_size)
    x = to_device(images)
    step = max(batch_size, 512)
    return torch.cat([probabilities(model, x[i:i + step]) for i in range(0, len(x), step)]).cpu().numpy()


def probabilities(model, x) -> torch.Tensor:
    if ends_in_softmax(model):  # its own softmax, in float64: in float32 the worst answers underflow to 0 and tie
        with autocast(AMP_DTYPES[PRECISION]):
            logits = model[:-1](x)
        return torch.softmax(logits.double(), 1)
    with autocast(AMP_DTYPES[PRECISION]):  # as the model trained
        out = model(x)
    return torch.softmax(out.float(), 1)


@torch.no_grad()
def predict_shared(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    n, step = len(images), max(batch_size, 512)
    share = -(-n // WORLD)
    mine = np.arange(RANK, n, WORLD)
    # Padded with image 0 to the same length everywhere (all_gather's rule); the padding is dropped below.
    x = to_device(images[np.concatenate([mine, np.zeros(share - len(mine), dtype=mine.dtype)])])
    local = torch.cat([probabilities(model, x[i:i + step]) for i in range(0, share, step)])
    parts = [torch.empty_like(local) for _ in range(WORLD)]
    dist.all_gather(parts, local.contiguous())
    probs = np.empty((n, local.shape[1]), dtype=np.float64 if local.dtype == torch.float64 else np.float32)
    for rank, part in enumerate(parts):
        probs[rank::WORLD] = part[:len(range(rank, n, WORLD))].cpu().numpy()
    return probs


# --- figures --------------------------------------------------------------

@torch.no_grad()
def augment_examples(augment, images_uint8_nhwc: np.ndarray, seed: int) -> np.ndarray:
    """A few uint8 (N, H, W, C) images through the training-time augmentation, as uint8.

    The same ``augment`` as ``train`` calls (on the CPU: a handful of
    images), each image with its own random transform.
    """
    x = torch.from_numpy(np.ascontiguousarray(images_uint8_nhwc)).permute(0, 3, 1, 2).float().div_(255)
    out = augment(x, torch.Generator().manual_seed(seed))
    return out.mul_(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
