"""Checkpoints: one safetensors file whose metadata carries the model config and the model card.

safetensors cannot execute code on load (unlike pickle), and keeping the JSON config inside the
same file means weights and config cannot drift apart. Metadata keys:
`format` = "dreampose3d", `format_version`, `config` (ModelConfig JSON), `info` (JSON: vocabulary,
text encoder, training data, metrics). Weights may be stored in fp16 and are loaded as fp32.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from .errors import CheckpointError
from .model import DreamPose3D, GaussianDiffusion, ModelConfig

FORMAT = "dreampose3d"
FORMAT_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = REPO_ROOT / "weights" / "dreampose3d.safetensors"


def default_checkpoint() -> Path:
    """$DREAMPOSE3D_CHECKPOINT, else the shipped weights in `weights/`."""
    return Path(os.environ.get("DREAMPOSE3D_CHECKPOINT", DEFAULT_CHECKPOINT))


def save_checkpoint(model: DreamPose3D, path: str | Path, info: dict | None = None, half: bool = False) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
            "config": json.dumps(model.config.to_dict()), "info": json.dumps(info or {})}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)      # never leave a half-written checkpoint under the real name
    return path


def read_metadata(path: str | Path) -> dict:
    """Validate the header and return {"config": ModelConfig, "info": dict, "id": str}."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise CheckpointError(f"Checkpoint {path.name} is not a readable safetensors file (truncated or wrong file).") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"Checkpoint {path.name} is not a DreamPose3D checkpoint.")
    if int(meta.get("format_version", "0")) > FORMAT_VERSION:
        raise CheckpointError(f"Checkpoint {path.name} needs a newer engine (format version {meta['format_version']}).")
    try:
        config = ModelConfig.from_dict(json.loads(meta["config"]))
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"Checkpoint {path.name} has a damaged config.") from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return {"config": config, "info": info, "id": f"{path.stem}-{digest}"}


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[GaussianDiffusion, dict]:
    """Rebuild the network from the checkpoint's own config and load its weights (fp32, eval mode)."""
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_metadata(path)
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise CheckpointError(f"Checkpoint {path.name} is truncated or damaged ({type(exc).__name__}).") from exc
    model = DreamPose3D(meta["config"])
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"Checkpoint {path.name} does not match its config ({len(missing)} missing, {len(unexpected)} unexpected tensors).")
    diffusion = GaussianDiffusion(model).to(device).eval()
    return diffusion, meta


def read_text_tables(path: str | Path, actions: list[str], styles: list[str]) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The frozen prompt tables (action (A, D), subject (S, D)) stored in a checkpoint, and their encoder info.

    A machine without the text encoder's package (an offline GPU box, say) can train from these:
    a frozen encoder's tables are a fixed function of the vocabulary, so taking them from a
    checkpoint with the same vocabulary gives the same prompts. Tables of a trained encoder
    (CLIP with learned context) are refused: they belong to that run.
    """
    from safetensors import safe_open

    meta = read_metadata(path)
    text = meta["info"].get("text_encoder", {})
    if not meta["config"].use_apl or text.get("backend") != "minilm":
        raise CheckpointError(f"Checkpoint {Path(path).name} holds no frozen (minilm) prompt tables.")
    if list(meta["config"].actions) != list(actions) or list(meta["config"].styles) != list(styles):
        raise CheckpointError(f"Checkpoint {Path(path).name} was trained on another action/style vocabulary.")
    with safe_open(str(path), framework="pt") as f:
        a_tab, s_tab = f.get_tensor("apl.action_table").float(), f.get_tensor("apl.style_table").float()
    return a_tab, s_tab, {**text, "tables_from": meta["id"]}
