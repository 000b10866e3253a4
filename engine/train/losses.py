"""Training losses of DreamPose3D (the paper's): weighted hallucinative 3D loss, action/style
cross-entropy, and a bone-length L1 that keeps limbs from stretching between frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model.multiframe_head import hpd_loss
from ..skeleton import bone_lengths
from .config import LossWeights
from .limb_mix import IGNORE_LABEL

def bone_length_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (bone_lengths(pred) - bone_lengths(target)).abs().mean()


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the windows that have a label (limb-mixed windows carry IGNORE_LABEL);
    zero, not NaN, for a batch without any."""
    keep = labels != IGNORE_LABEL
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], labels[keep])


def training_losses(out: dict, batch: dict, weights: LossWeights, first_stage: bool) -> dict[str, torch.Tensor]:
    """`out` from GaussianDiffusion.training_prediction, `batch` tensors from the sampler, `weights`
    the run's `TrainConfig.loss_weights`.

    In the first stage only the centre pose is supervised (n = 1); afterwards all n offsets with
    weights 1/(1+|k|).
    """
    poses, target = out["poses"], batch["joints3d"]
    centre = poses.shape[2] // 2
    pose_loss = hpd_loss(poses[:, :, centre:centre + 1] if first_stage else poses, target)
    losses = {"pose": pose_loss, "bone": weights.bone * bone_length_loss(poses[:, :, centre], target)}
    if out.get("action_logits") is not None:
        losses["action"] = weights.action * labelled_cross_entropy(out["action_logits"], batch["action"])
        losses["style"] = weights.style * labelled_cross_entropy(out["style_logits"], batch["style"])
    losses["total"] = sum(losses.values())
    return losses
