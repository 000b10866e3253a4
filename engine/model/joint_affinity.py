"""Spatial Representation Encoder (SRE): kinematic joint affinity inside spatial attention.

A_j = ((A_L + A_G) + (A_L + A_G)^T) / 2, with A_L the skeleton adjacency (row-normalised, diagonal
1, fixed) and A_G a learnable global affinity initialised near zero (1e-6), so training starts
from the kinematic prior and learns long-range couplings (e.g. wrist-ankle in walking). Joint
tokens are mixed by A_j, then Z_S = MHSA(X_A) + X_A + E_c.
"""

from __future__ import annotations

import torch
from torch import nn

from ..skeleton import adjacency
from .attention import MultiHeadAttention


def local_affinity() -> torch.Tensor:
    """A_L: the bone adjacency with self-loops, each row normalised to sum 1, then diagonal set to 1."""
    a = torch.from_numpy(adjacency(self_loops=True))
    a = a / a.sum(dim=1, keepdim=True)
    a.fill_diagonal_(1.0)
    return a


class JointAffinity(nn.Module):
    def __init__(self, num_joints: int):
        super().__init__()
        self.register_buffer("a_local", local_affinity(), persistent=False)
        self.a_global = nn.Parameter(torch.full((num_joints, num_joints), 1e-6))

    def matrix(self) -> torch.Tensor:
        a = self.a_local + self.a_global
        return (a + a.transpose(0, 1)) / 2


class SpatialRepresentationEncoder(nn.Module):
    """(B, N, J, C) joint tokens + (B, C) pooled context -> Z_S of the same shape."""

    def __init__(self, width: int, heads: int, num_joints: int, use_affinity: bool = True):
        super().__init__()
        self.affinity = JointAffinity(num_joints) if use_affinity else None
        self.norm = nn.LayerNorm(width)
        self.attn = MultiHeadAttention(width, heads)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        if self.affinity is not None:
            x = torch.einsum("ij,bnjc->bnic", self.affinity.matrix(), x)   # X_A = A_j X
        b, n, j, c = x.shape
        z = self.attn(self.norm(x).reshape(b * n, j, c)).view(b, n, j, c) + x
        if context is not None:
            z = z + context[:, None, None, :]
        return z
