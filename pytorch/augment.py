"""Batched data augmentation on the device, a different random transform per image.

torchvision's v2 transforms applied to a batch tensor draw ONE set of random
parameters for the whole batch; the report augmented each image on its own
(per-sample transforms in a DataLoader), which is slow on a CPU. Here every
image gets its own flip, rotation, scale, shear and shift, composed into one
affine matrix per image and applied to the whole batch in one
``grid_sample`` call: per-image randomness at batched speed.

Semantics follow torchvision: RandomAffine(0, scale, shear) then
RandomHorizontalFlip then RandomRotation, nearest-neighbour sampling, black fill.

torch is imported inside the functions, so a script can declare its
augmentation without loading torch (``--help`` stays instant).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class RandomAffinePerImage:
    """Random transforms applied to training batches only, drawn per image.

    Angles are in degrees; ``shift`` and ``zoom`` are fractions of the image
    size; ``scale`` is the (min, max) factor of torchvision's RandomAffine.
    Call it on an (N, C, H, W) batch with a ``torch.Generator``.
    """
    horizontal_flip: bool = False
    shift: float = 0.0
    rotation: float = 0.0
    zoom: float = 0.0
    scale: Optional[tuple] = None
    shear: float = 0.0

    def __call__(self, images, generator=None):
        return augment_batch(images, self, generator)

    def __str__(self):
        parts = []
        if self.horizontal_flip:
            parts.append("flip")
        if self.shift:
            parts.append(f"shift {self.shift:g}")
        if self.rotation:
            parts.append(f"rotation {self.rotation:g} deg")
        if self.zoom:
            parts.append(f"zoom {self.zoom:g}")
        if self.scale:
            parts.append(f"scale {self.scale[0]:g}-{self.scale[1]:g}")
        if self.shear:
            parts.append(f"shear {self.shear:g} deg")
        return ", ".join(parts) or "none"


def _uniform(n, low, high, generator, device):
    import torch
    return torch.rand(n, generator=generator, device=device) * (high - low) + low


def affine_matrices(n: int, aug: RandomAffinePerImage, generator=None, device="cpu"):
    """Forward 2x3 matrices (normalised coordinates), one per image."""
    import torch

    ones, zeros = torch.ones(n, device=device), torch.zeros(n, device=device)
    # Scale: torchvision's (min, max), or Keras' zoom range 1 +- zoom.
    low, high = aug.scale if aug.scale else (1 - aug.zoom, 1 + aug.zoom)
    scale = _uniform(n, low, high, generator, device)
    shear = torch.tan(torch.deg2rad(_uniform(n, -aug.shear, aug.shear, generator, device)))
    flip = torch.where(torch.rand(n, generator=generator, device=device) < 0.5, -ones, ones) \
        if aug.horizontal_flip else ones
    angle = torch.deg2rad(_uniform(n, -aug.rotation, aug.rotation, generator, device))
    cos, sin = torch.cos(angle), torch.sin(angle)

    # forward = Rotation @ Flip @ (scale * Shear): the order of the report's transforms.
    shear_scale = torch.stack([torch.stack([scale, -scale * shear], 1), torch.stack([zeros, scale], 1)], 1)
    flip_m = torch.stack([torch.stack([flip, zeros], 1), torch.stack([zeros, ones], 1)], 1)
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    linear = rotation @ flip_m @ shear_scale
    # Shift: a fraction of the image size; normalised coordinates span 2.
    shift = torch.stack([_uniform(n, -2 * aug.shift, 2 * aug.shift, generator, device) for _ in range(2)], 1)
    return torch.cat([linear, shift.unsqueeze(2)], 2)


def augment_batch(images, aug: RandomAffinePerImage, generator=None):
    """Apply an independent random transform to each image of an (N, C, H, W) batch."""
    import torch
    import torch.nn.functional as F

    n = images.shape[0]
    forward = affine_matrices(n, aug, generator, images.device)
    # affine_grid maps OUTPUT coordinates to INPUT coordinates: the inverse transform.
    inverse_linear = torch.linalg.inv(forward[:, :, :2])
    theta = torch.cat([inverse_linear, -(inverse_linear @ forward[:, :, 2:])], 2)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)
