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


FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")   # safetensors dtype names; every model tensor is floating point


def read_metadata(path: str | Path) -> dict:
    """Validate the checkpoint and return {"config": ModelConfig, "info": dict, "id": str}.

    The same checks as `load_checkpoint` (`_read_checked`), so `engine info` accepts exactly the
    files `lift` can load.
    """
    return _read_checked(Path(path))[0]


def _read_checked(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata and the fp32 tensors of a checkpoint that can be loaded with certainty.

    Every malformed value is one CheckpointError sentence naming the file: the header (format,
    version, config, info) first, then each tensor's name, shape and dtype against the network the
    config describes (built on the meta device, so an absurd config allocates nothing), and only
    then the weights themselves, which must be finite.
    """
    from safetensors import safe_open
    from safetensors.torch import load

    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: (f.get_slice(k).get_shape(), f.get_slice(k).get_dtype()) for k in f.keys()}
    except Exception as exc:
        raise CheckpointError(f"Checkpoint {path.name} is not a readable safetensors file (truncated or wrong file).") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"Checkpoint {path.name} is not a DreamPose3D checkpoint.")
    try:
        version = int(meta.get("format_version", FORMAT_VERSION))
    except ValueError:
        version = 0
    if version < 1:
        raise CheckpointError(f"Checkpoint {path.name} has a format_version that is not a positive whole number.")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"Checkpoint {path.name} needs a newer engine (format version {version}).")
    config = ModelConfig.from_dict(_json(meta, "config", path), f"checkpoint {path.name}")
    info = _json(meta, "info", path, "{}")
    if not isinstance(info, dict):
        raise CheckpointError(f"Checkpoint {path.name} has info metadata that is not a JSON object.")
    _check_tensors(path, config, tensors)
    data = path.read_bytes()
    state = {k: v.float() for k, v in load(data).items()}
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"Checkpoint {path.name} holds non-finite weights (NaN or infinity in '{name}').")
    digest = hashlib.sha256(data).hexdigest()[:12]
    return {"config": config, "info": info, "id": f"{path.stem}-{digest}"}, state


def _json(meta: dict, key: str, path: Path, default: str | None = None):
    """One metadata value parsed as JSON (deep nesting, which overflows the parser, counts as damaged)."""
    try:
        return json.loads(meta[key] if default is None else meta.get(key, default))
    except (KeyError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"Checkpoint {path.name} has {'no' if isinstance(exc, KeyError) else 'damaged'} "
                              f"{key} metadata (JSON expected).") from exc


def _check_tensors(path: Path, config: ModelConfig, tensors: dict[str, tuple[list[int], str]]) -> None:
    """Refuse the first tensor that is missing, shaped otherwise than the network of `config` needs,
    not floating point, or has no place in that network."""
    with torch.device("meta"):
        expected = {k: list(v.shape) for k, v in DreamPose3D(config).state_dict().items()}
    say = f"Checkpoint {path.name} does not match its config:"
    for name, shape in expected.items():
        if name not in tensors:
            raise CheckpointError(f"{say} tensor '{name}' is missing.")
        stored, dtype = list(tensors[name][0]), tensors[name][1]
        if stored != shape:
            raise CheckpointError(f"{say} tensor '{name}' has shape {stored}, the config needs {shape}.")
        if dtype not in FLOAT_DTYPES:
            raise CheckpointError(f"{say} tensor '{name}' is stored as {dtype}, not as floating point.")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise CheckpointError(f"{say} it holds a tensor {extra[0][:60]!r} the config has no place for.")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[GaussianDiffusion, dict]:
    """Rebuild the network from the checkpoint's own config and load its weights (fp32, eval mode).

    `_read_checked` has matched every tensor to the network, so the strict load cannot fail.
    """
    meta, state = _read_checked(Path(path))
    model = DreamPose3D(meta["config"])
    model.load_state_dict(state)
    return GaussianDiffusion(model).to(device).eval(), meta


def read_text_tables(path: str | Path, actions: list[str], styles: list[str]) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """The frozen prompt tables (action (A, D), subject (S, D)) stored in a checkpoint, and their encoder info.

    A machine without the text encoder's package (an offline GPU box, say) can train from these:
    a frozen encoder's tables are a fixed function of the vocabulary, so taking them from a
    checkpoint with the same vocabulary gives the same prompts. Tables of a trained encoder
    (CLIP with learned context) are refused: they belong to that run.
    """
    meta, state = _read_checked(Path(path))
    text = meta["info"].get("text_encoder")
    if not meta["config"].use_apl or not isinstance(text, dict) or text.get("backend") != "minilm":
        raise CheckpointError(f"Checkpoint {Path(path).name} holds no frozen (minilm) prompt tables.")
    if list(meta["config"].actions) != list(actions) or list(meta["config"].styles) != list(styles):
        raise CheckpointError(f"Checkpoint {Path(path).name} was trained on another action/style vocabulary.")
    return state["apl.action_table"], state["apl.style_table"], {**text, "tables_from": meta["id"]}
