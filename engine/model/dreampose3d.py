"""`DreamPose3D`: the whole network, the APL that writes the prompt and the denoiser that reads it.

The Action Prompt Learning transformer classifies the 2D window (action and subject style), the
frozen text encoder's embeddings of the predicted prompt become the context tokens E_c, and the
spatio-temporal denoiser (engine.model.denoiser) lifts the window conditioned on them. With
`use_apl` off there is no prompt and no cross-attention: the denoiser alone (an ablation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .action_prompt import ActionPromptLearner, random_class_probs
from .config import APL_HEADS, ModelConfig
from .denoiser import SpatioTemporalDenoiser


class DreamPose3D(SpatioTemporalDenoiser):
    """The denoiser's layers plus `apl`; the parameter names are the checkpoint's, so the denoiser's
    layers stay attributes of this module rather than of a sub-module."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        c = config
        self.apl = ActionPromptLearner(c.num_joints, c.window, c.apl_width, c.apl_depth, APL_HEADS,
                                       len(c.actions), len(c.styles), c.text_dim, c.width) if c.use_apl else None

    def prompt(self, keypoints2d: torch.Tensor, scores: torch.Tensor, generator: torch.Generator | None = None,
               tables=None) -> dict:
        """Classify the window and build the context tokens E_c (None when APL is off)."""
        if self.apl is None:
            return {"context": None, "action_logits": None, "style_logits": None}
        action_logits, style_logits = self.apl.classify(keypoints2d, scores)
        if self.config.prompt_mode == "random":
            pa, ps = random_class_probs(action_logits, generator), random_class_probs(style_logits, generator)
        else:
            pa, ps = F.softmax(action_logits, -1), F.softmax(style_logits, -1)
        return {"context": self.apl.context(pa, ps, tables), "action_logits": action_logits, "style_logits": style_logits}
