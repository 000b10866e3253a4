"""Hallucinative Pose Decoder (HPD): each frame's token also predicts its neighbours' poses.

For n = 3 the head outputs the poses of frames f-1, f, f+1 from frame f's features. Training
weights the offset-k prediction by 1/(1+|k|), which forces the features of one frame to carry
the local motion; inference keeps only the centre pose.
"""

from __future__ import annotations

import torch
from torch import nn


def hpd_offsets(n: int) -> list[int]:
    """Frame offsets predicted per frame: n=3 -> [-1, 0, 1]."""
    half = (n - 1) // 2
    return list(range(-half, half + 1))


def hpd_weights(n: int) -> torch.Tensor:
    """Loss weight of each offset, 1 / (1 + |k|): n=3 -> [0.5, 1, 0.5]."""
    return torch.tensor([1.0 / (1 + abs(k)) for k in hpd_offsets(n)])


class HallucinativePoseDecoder(nn.Module):
    def __init__(self, width: int, n: int):
        super().__init__()
        self.n = n
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 3 * n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, J, C) -> (B, N, n, J, 3); index n // 2 is the frame's own pose."""
        b, nf, j, _ = x.shape
        y = self.head(self.norm(x)).view(b, nf, j, self.n, 3)
        return y.permute(0, 1, 3, 2, 4)

    @staticmethod
    def centre(poses: torch.Tensor) -> torch.Tensor:
        return poses[:, :, poses.shape[2] // 2]


def hpd_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted hallucinative L2 (MPJPE-style) loss.

    pred (B, N, n, J, 3) poses for offsets k; target (B, N, J, 3); valid (B, N) frame mask.
    The prediction for frame f with offset k is compared with target frame f + k where it exists.
    """
    n = pred.shape[2]
    weights = hpd_weights(n).to(pred.device)
    frames = pred.shape[1]
    if valid is None:
        valid = torch.ones(pred.shape[:2], device=pred.device)
    total, norm = pred.new_zeros(()), pred.new_zeros(())
    for i, k in enumerate(hpd_offsets(n)):
        lo, hi = max(0, -k), min(frames, frames - k)
        err = torch.linalg.norm(pred[:, lo:hi, i] - target[:, lo + k:hi + k], dim=-1).mean(-1)  # (B, F')
        mask = valid[:, lo:hi] * valid[:, lo + k:hi + k]
        total = total + weights[i] * (err * mask).sum()
        norm = norm + weights[i] * mask.sum()
    return total / norm.clamp_min(1.0)
