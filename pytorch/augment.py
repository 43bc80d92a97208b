"""Batched data augmentation on the device, a different random transform per image.

torchvision's v2 transforms applied to a batch tensor draw ONE set of random
parameters for the whole batch; the report augmented each image on its own
(per-sample transforms in a DataLoader), which is slow on a CPU. Here every
image gets its own flip, rotation, scale, shear and shift, composed into one
affine matrix per image and applied to the whole batch in one
``grid_sample`` call: per-image randomness at batched speed.

Semantics follow torchvision: RandomAffine(0, scale, shear) then
RandomHorizontalFlip then RandomRotation, nearest-neighbour sampling, black fill.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from common.architectures import Augmentation


def _uniform(n, low, high, generator, device):
    return torch.rand(n, generator=generator, device=device) * (high - low) + low


def affine_matrices(n: int, aug: Augmentation, generator=None, device="cpu") -> torch.Tensor:
    """Forward 2x3 matrices (normalised coordinates), one per image."""
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


def augment_batch(images: torch.Tensor, aug: Augmentation, generator=None) -> torch.Tensor:
    """Apply an independent random transform to each image of an (N, C, H, W) batch."""
    n = images.shape[0]
    forward = affine_matrices(n, aug, generator, images.device)
    # affine_grid maps OUTPUT coordinates to INPUT coordinates: the inverse transform.
    inverse_linear = torch.linalg.inv(forward[:, :, :2])
    theta = torch.cat([inverse_linear, -(inverse_linear @ forward[:, :, 2:])], 2)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)
