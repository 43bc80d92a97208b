"""Which floating-point precision a run trains in: ``--precision auto|fp32|bf16|fp16``.

``auto`` picks bf16 where the device computes it natively, and fp32 elsewhere:

- a CPU with AMX-BF16 or AVX512-BF16 instructions: bf16 (PyTorch autocast, Keras ``mixed_bfloat16``);
- a CUDA GPU: bf16 where it has bf16 tensor cores, else fp16 with loss scaling;
- any other CPU, Apple MPS, anything else: fp32 (bf16 without hardware support is emulated and
  several times slower; on MPS no speed-up was measured).

Mixed precision keeps the weights and the optimiser in fp32 and computes the layers in the lower
precision; the output layer's softmax and the loss stay in fp32. Framework-free: the frameworks pass
what they detect (``torch.cpu`` capabilities, CUDA's bf16 support); ``cpu_bf16_features`` reads the
CPU's own flags where a framework says nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # as /proc/cpuinfo names them


def cpu_bf16_features(cpuinfo: Optional[str] = None) -> list:
    """The CPU's bf16 instruction sets among BF16_CPU_FLAGS (from /proc/cpuinfo; [] where it cannot be read)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return [flag for flag in BF16_CPU_FLAGS if flag in flags]


def choose(requested: str, device_type: str, cpu_bf16: bool = False, cuda_bf16: bool = False) -> str:
    """The precision a run uses: ``requested`` unless it is auto (see the module's docstring)."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}")
    if requested != "auto":
        return requested
    if device_type == "cpu":
        return "bf16" if cpu_bf16 else "fp32"
    if device_type in ("cuda", "gpu"):
        return "bf16" if cuda_bf16 else "fp16"
    return "fp32"


def words(precision: str) -> str:
    """The record's and the README's words for it."""
    return {"fp32": "fp32", "bf16": "bf16 mixed precision", "fp16": "fp16 mixed precision"}[precision]
