"""Transformer pieces shared by the APL encoder and the denoiser: pre-norm attention and MLP.

Attention runs through `F.scaled_dot_product_attention`, which picks a fused kernel on GPU and
a memory-efficient one on CPU. Shapes are noted as (batch, tokens, channels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadAttention(nn.Module):
    """Self- or cross-attention: queries from `x` (B, L, C), keys/values from `context` (B, S, C)."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        b, l, c = x.shape
        context = x if context is None else context
        s = context.shape[1]
        q = self.q(x).view(b, l, self.heads, c // self.heads).transpose(1, 2)
        k, v = self.kv(context).view(b, s, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, l, c))


class MLP(nn.Module):
    def __init__(self, width: int, ratio: float, dropout: float = 0.0):
        super().__init__()
        hidden = int(width * ratio)
        self.net = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + MLP over the token axis of (B, L, C)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = MultiHeadAttention(width, heads, dropout)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = MLP(width, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def over_joints(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a token block across the 17 joints of each frame: (B, N, J, C) -> (B, N, J, C)."""
    b, n, j, c = x.shape
    return block(x.reshape(b * n, j, c)).view(b, n, j, c)


def over_frames(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a token block across the N frames of each joint: (B, N, J, C) -> (B, N, J, C)."""
    b, n, j, c = x.shape
    y = block(x.permute(0, 2, 1, 3).reshape(b * j, n, c))
    return y.view(b, j, n, c).permute(0, 2, 1, 3)
