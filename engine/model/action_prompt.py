"""Action Prompt Learning (APL): recognise the action from 2D, turn it into a text prompt embedding.

A small transformer over the 2D sequence (pooled over time) classifies the action and the
subject/style. The predicted classes make the prompt "<subject segment> <action segment>", e.g.
"an elderly person" + "walking". Each segment's class embedding comes from a frozen text encoder
(`engine.text_encoder`): the tables are computed once (MiniLM) or per step (CLIP with learnable
context vectors) and stored in the checkpoint, so inference needs no text encoder. The class
probabilities weight the tables (a soft prompt keeps the pose loss differentiable w.r.t. APL),
and a trainable MLP_p maps them to the context tokens E_c (B, 2, C).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import TransformerBlock


class ActionPromptLearner(nn.Module):
    def __init__(self, num_joints: int, window: int, width: int, depth: int, heads: int,
                 num_actions: int, num_styles: int, text_dim: int, context_width: int):
        super().__init__()
        self.embed = nn.Linear(num_joints * 3, width)
        self.pos = nn.Parameter(torch.zeros(1, window, width))
        self.blocks = nn.ModuleList(TransformerBlock(width, heads, 2.0) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.action_head = nn.Linear(width, num_actions)
        self.style_head = nn.Linear(width, num_styles)
        # Frozen text-encoder outputs per class (filled by the trainer / the checkpoint).
        self.register_buffer("action_table", torch.zeros(num_actions, text_dim))
        self.register_buffer("style_table", torch.zeros(num_styles, text_dim))
        self.prompt_mlp = nn.Sequential(nn.Linear(text_dim, context_width), nn.GELU(),
                                        nn.Linear(context_width, context_width))   # MLP_p
        nn.init.normal_(self.pos, std=0.02)

    def classify(self, keypoints2d: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, J, 2), (B, N, J) -> action logits (B, A), style logits (B, S)."""
        b, n = keypoints2d.shape[:2]
        x = torch.cat([person_centric(keypoints2d, scores), scores[..., None]], dim=-1).reshape(b, n, -1)
        x = self.embed(x) + self.pos[:, :n]
        for block in self.blocks:
            x = block(x)
        h = self.norm(x).mean(dim=1)
        return self.action_head(h), self.style_head(h)

    def context(self, action_probs: torch.Tensor, style_probs: torch.Tensor,
                tables: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Class probabilities (B, A), (B, S) -> context tokens E_c (B, 2, C): subject, action."""
        action_table, style_table = tables if tables is not None else (self.action_table, self.style_table)
        e_subject = style_probs @ style_table
        e_action = action_probs @ action_table
        return self.prompt_mlp(torch.stack([e_subject, e_action], dim=1))


def person_centric(keypoints2d: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Remove where the person stands in the image and how large they are, per window.

    The action does not depend on the camera placement, so the classifier sees keypoints relative
    to the window's confidence-weighted centre, divided by their RMS spread. Motion inside the
    window (walking across the image) is kept.
    """
    w = scores[..., None]
    wsum = w.sum(dim=(1, 2), keepdim=True).clamp_min(1e-6)
    centre = (w * keypoints2d).sum(dim=(1, 2), keepdim=True) / wsum
    d = (keypoints2d - centre) * (w > 0)
    spread = ((w * d.square()).sum(dim=(1, 2, 3), keepdim=True) / wsum).sqrt().clamp_min(1e-3)
    return d / spread


def random_class_probs(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One-hot probabilities of uniformly random classes (the "random prompts" ablation)."""
    idx = torch.randint(logits.shape[-1], logits.shape[:-1], generator=generator, device="cpu").to(logits.device)
    return F.one_hot(idx, logits.shape[-1]).to(logits.dtype)
