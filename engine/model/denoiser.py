"""The prompt-conditioned spatio-temporal denoiser (SPD) with the HPD head.

Per joint and frame, the token is concat(2D keypoint, confidence, noisy 3D joint). The network
reads top-down as in the paper: embed -> SRE (joint affinity + spatial attention + E_c) ->
cross-attention to the prompt tokens E_c -> + diffusion-timestep embedding -> temporal attention
-> M alternating spatial / temporal blocks -> HPD. It knows nothing of the noise schedule
(`engine.model.diffusion` owns that), so the same network serves the regression baseline, and
nothing of where E_c comes from (`engine.model.dreampose3d` adds the APL that makes it).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .attention import MultiHeadAttention, TransformerBlock, over_frames, over_joints
from .config import ModelConfig
from .joint_affinity import SpatialRepresentationEncoder
from .multiframe_head import HallucinativePoseDecoder


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer diffusion steps (B,) -> (B, dim) (Ho et al. 2020)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class SpatioTemporalDenoiser(nn.Module):
    """SPD + HPD: noisy 3D window, 2D keypoints, scores and the prompt context in, HPD poses out."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config
        self.config = c
        w = c.width
        self.embed = nn.Linear(6, w)                     # 2D (2) + confidence (1) + noisy 3D (3)
        self.joint_pos = nn.Parameter(torch.zeros(1, 1, c.num_joints, w))
        self.frame_pos = nn.Parameter(torch.zeros(1, c.window, 1, w))
        self.sre = SpatialRepresentationEncoder(w, c.heads, c.num_joints, use_affinity=c.use_sre)
        self.cross_norm = nn.LayerNorm(w)
        self.cross = MultiHeadAttention(w, c.heads) if c.use_apl else None
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.GELU(), nn.Linear(w, w))
        self.temporal_in = TransformerBlock(w, c.heads, c.mlp_ratio, c.dropout)
        self.spatial = nn.ModuleList(TransformerBlock(w, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.depth))
        self.temporal = nn.ModuleList(TransformerBlock(w, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.depth))
        self.hpd = HallucinativePoseDecoder(w, c.hpd_frames)
        nn.init.normal_(self.joint_pos, std=0.02)
        nn.init.normal_(self.frame_pos, std=0.02)

    def forward(self, noisy3d: torch.Tensor, t: torch.Tensor, keypoints2d: torch.Tensor, scores: torch.Tensor,
                context: torch.Tensor | None) -> torch.Tensor:
        """Predict clean 3D poses.

        noisy3d (B, N, J, 3), t (B,) integer steps, keypoints2d (B, N, J, 2), scores (B, N, J),
        context E_c (B, L, C) or None -> (B, N, n, J, 3) poses for the HPD offsets.
        """
        n = noisy3d.shape[1]
        x = torch.cat([keypoints2d * (scores[..., None] > 0), scores[..., None], noisy3d], dim=-1)
        x = self.embed(x) + self.joint_pos + self.frame_pos[:, :n]
        pooled = context.mean(dim=1) if context is not None else None
        x = self.sre(x, pooled)                                                     # Z_S
        if self.cross is not None and context is not None:
            b, nf, j, c = x.shape
            x = x + self.cross(self.cross_norm(x).reshape(b, nf * j, c), context).view(b, nf, j, c)
        x = x + self.time_mlp(timestep_embedding(t, x.shape[-1]))[:, None, None, :]
        x = over_frames(self.temporal_in, x)
        for spatial, temporal in zip(self.spatial, self.temporal):
            x = over_frames(temporal, over_joints(spatial, x))
        return self.hpd(x)
