"""`TrainConfig`: every setting of a training run, typed and checked, stored in the checkpoint.

A config file (`engine/train/configs/NAME.json`, or any path) has these keys, all optional but
the optimisation and loss-weight values (which a `base` may give):

    "_doc":         what the config is for (kept in the TrainConfig)
    "base":         a config to start from: its sections are updated key by key with this
                    file's, its other keys replaced (so a variant states only what differs)
    "model":        `engine.model.ModelConfig` fields (the vocabularies are the training ones)
    "data":         DataConfig: sources, width_range, neck_head_range, mocap_root, limit_clips
    "optimisation": OptimisationConfig: batch, learning rate, schedule, budgets, EMA, eval/save
    "loss_weights": LossWeights: bone, action, style
    "seed", "ablation", "device", "threads", "text_tables_from", "init_from", "clip_model", "clip_pretrained"

Every key is known and every value checked (type and range): a misspelt key or a bad value is
one `EngineError` sentence naming the file and the key's path, e.g. "Train config shipped.json:
unknown key 'optimisation.lr_sheduler' (...)". The command line changes fields of the loaded
TrainConfig (`with_overrides`), and the checkpoint's info carries `to_dict()`, which
`from_dict` reads back into an equal TrainConfig.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path

from ..errors import EngineError
from ..limits import MAX_SEED, one_of, short_repr
from ..model import ModelConfig
from .ablations import ABLATIONS
from .labels import ACTION_VOCAB, STYLE_VOCAB
from .sources import DEFAULT_SOURCES, SOURCES

CONFIG_DIR = Path(__file__).parent / "configs"


# --- checks: each returns None when a value is fine, else what it must be ---------------------

def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)     # JSON true must not pass as 1


def _int(lo: int, hi: int, optional: bool = False):
    expected = f"an integer from {lo:,} to {hi:,}" + (" or null" if optional else "")
    return lambda v: None if (optional and v is None) or (isinstance(v, int) and not isinstance(v, bool)
                                                          and lo <= v <= hi) else expected


def _real(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False):
    """A number in the interval (NaN fails every comparison, so it is refused)."""
    show = lambda x: f"{int(x):,}" if float(x).is_integer() else f"{x:g}"   # noqa: E731
    expected = f"a number {'above' if lo_open else 'at least'} {show(lo)} and {'below' if hi_open else 'at most'} {show(hi)}"

    def check(v):
        ok = _is_number(v) and (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
        return None if ok else expected
    return check


def _text(optional: bool = False):
    expected = "a non-empty string" + (" or null" if optional else "")
    return lambda v: None if (optional and v is None) or (isinstance(v, str) and v.strip()) else expected


def _sources(v) -> str | None:
    ok = isinstance(v, (list, tuple)) and v and all(isinstance(s, str) and s in SOURCES for s in v) \
        and len(set(v)) == len(v)
    return None if ok else f"a non-empty list of distinct sources from {', '.join(SOURCES)}"


def _source_weights(v) -> str | None:
    ok = v is None or (isinstance(v, dict) and all(k in SOURCES and _is_number(w) and 0 < w <= 1000
                                                   for k, w in v.items()))
    return None if ok else f"null or an object of source: weight (0-1,000) with sources from {', '.join(SOURCES)}"


def _scale_range(v) -> str | None:
    ok = v is None or (isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_number(x) for x in v)
                       and 0 < v[0] <= v[1] <= 10)
    return None if ok else "null or [lo, hi] with 0 < lo <= hi <= 10"


def _field(check, default=MISSING, normal=None, key: str | None = None):
    """A dataclass field checked by `check`; `normal` turns an accepted value into its stored form
    (int -> float for real numbers, list -> tuple); `key` is its name in JSON when that differs."""
    meta = {"check": check, "normal": normal, "key": key}
    return field(metadata=meta) if default is MISSING else field(default=default, metadata=meta)


def _real_field(lo, hi, default=MISSING, **bounds):
    return _field(_real(lo, hi, **bounds), default, float)


def _check_fields(obj, prefix: str) -> None:
    """Check every field of a (frozen) dataclass and store its normal form; ValueError names the path."""
    for f in fields(obj):
        if "check" not in f.metadata:       # a section: checked by its own class
            continue
        value = getattr(obj, f.name)
        expected = f.metadata["check"](value)
        if expected:
            raise ValueError(f"{prefix}{f.metadata['key'] or f.name} must be {expected}, got {short_repr(value)}")
        if f.metadata["normal"] is not None and value is not None:
            object.__setattr__(obj, f.name, f.metadata["normal"](value))


# --- the sections -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DataConfig:
    """Which clips are trained on and how their bodies are scaled."""
    sources: tuple[str, ...] = _field(_sources, DEFAULT_SOURCES, tuple)
    # [lo, hi] scale range of the hip- and shoulder-width bone groups (null: the sampler's
    # default 0.85-1.15; see mocap_dataset.group_ranges).
    width_range: tuple[float, float] | None = _field(_scale_range, None, lambda v: tuple(float(x) for x in v))
    # [lo, hi] scale range of the neck-and-head bone group (null: the sampler's default 0.85-1.15).
    neck_head_range: tuple[float, float] | None = _field(_scale_range, None, lambda v: tuple(float(x) for x in v))
    # Training cameras: "aimed" at the window's mean pelvis, or "anywhere" (people anywhere in the
    # frame, filling it, level cameras; engine.train.cameras.random_cameras).
    cameras: str = _field(one_of("aimed", "anywhere"), "aimed")
    # Share of training windows that lose the face joints (and a third as many a limb end).
    joint_drop: float = _real_field(0, 1, 0.0)
    # Share of training windows whose legs or arms move as another window's (engine.train.limb_mix).
    limb_mix: float = _real_field(0, 1, 0.0)
    # {source: weight}: a source's clips are drawn this many times as often (default 1 each).
    source_weights: dict | None = _field(_source_weights, None)
    mocap_root: str | None = _field(_text(optional=True), None)   # null: ../shared/data/mocap
    limit_clips: int | None = _field(_int(1, 1_000_000, optional=True), None)   # first N files per source (tests)

    def __post_init__(self) -> None:
        _check_fields(self, "data.")


@dataclass(frozen=True)
class OptimisationConfig:
    """AdamW with linear warm-up then cosine decay over whichever budget ends first (steps or minutes)."""
    batch_size: int = _field(_int(1, 65_536))
    lr: float = _real_field(0, 1, lo_open=True)
    weight_decay: float = _real_field(0, 1)
    warmup_steps: int = _field(_int(0, 10 ** 9))
    stage1_fraction: float = _real_field(0, 1)      # share of the run with n = 1 (centre pose only)
    eval_every: int = _field(_int(1, 10 ** 9))      # steps between validations
    save_every: int = _field(_int(1, 10 ** 9))      # steps between writes of <run>/last.pt
    minutes: float = _real_field(0, 1_000_000, lo_open=True)   # time budget
    max_steps: int = _field(_int(1, 10 ** 9))       # step budget
    ema_decay: float = _real_field(0, 1, 0.0, hi_open=True)    # 0: save the raw weights, no averaging

    def __post_init__(self) -> None:
        _check_fields(self, "optimisation.")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the losses added to the pose loss (engine.train.losses)."""
    bone: float = _real_field(0, 1000)      # bone-length L1
    action: float = _real_field(0, 1000)    # action cross-entropy
    style: float = _real_field(0, 1000)     # style cross-entropy

    def __post_init__(self) -> None:
        _check_fields(self, "loss_weights.")


SECTIONS = {"data": DataConfig, "optimisation": OptimisationConfig, "loss_weights": LossWeights}
_MODEL_KEYS = tuple(f.name for f in fields(ModelConfig))


def _model_config(**values) -> ModelConfig:
    """A ModelConfig with the training vocabularies unless given; its ValueError names `model.<field>`."""
    values = {"actions": list(ACTION_VOCAB), "styles": list(STYLE_VOCAB), **values}
    try:
        return ModelConfig(**values)
    except ValueError as exc:
        raise ValueError(f"model.{exc}") from None


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig                 # the network before the ablation's switches (see `network`)
    data: DataConfig
    optimisation: OptimisationConfig
    loss_weights: LossWeights
    seed: int = _field(_int(0, MAX_SEED), 0)
    ablation: str = _field(one_of(*ABLATIONS), "full")       # engine.train.ablations
    device: str = _field(one_of("auto", "cpu", "cuda"), "auto")
    threads: int | None = _field(_int(0, 1024, optional=True), None)   # torch CPU threads (null or 0: torch's choice)
    # Frozen minilm prompt tables from this checkpoint instead of the encoder (machines without its package).
    text_tables_from: str | None = _field(_text(optional=True), None)
    # Warm start: the weights of this checkpoint (same architecture) instead of random ones, so each
    # session's training adds to the last good weights.
    init_from: str | None = _field(_text(optional=True), None)
    clip_model: str = _field(_text(), "ViT-B-32")                      # open_clip model (text_encoder openclip)
    clip_pretrained: str | None = _field(_text(optional=True), None)   # open_clip tag or local checkpoint
    doc: str = _field(lambda v: None if isinstance(v, str) else "a string", "", key="_doc")   # what the config is for

    def __post_init__(self) -> None:
        for name, kind in (("model", ModelConfig), *SECTIONS.items()):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name} must be a {kind.__name__}, got {short_repr(getattr(self, name))}")
        object.__setattr__(self, "model", _model_config(**self.model.to_dict()))   # a copy: the config is frozen
        for name, vocab in (("actions", ACTION_VOCAB), ("styles", STYLE_VOCAB)):
            if list(getattr(self.model, name)) != list(vocab):
                raise ValueError(f"model.{name} must be the training vocabulary (engine.train.labels), "
                                 f"got {short_repr(getattr(self.model, name))}")
        _check_fields(self, "")
        self.network()          # the ablation's switches must make a valid network too

    def network(self, text_dim: int | None = None) -> ModelConfig:
        """The network this run trains: `model` with the ablation's switches (and the text encoder's width)."""
        extra = {} if text_dim is None else {"text_dim": text_dim}
        return _model_config(**{**self.model.to_dict(), **ABLATIONS[self.ablation], **extra})

    def to_dict(self) -> dict:
        """Plain JSON values, in the layout of a config file (what the checkpoint's info stores)."""
        section = lambda s: {f.name: list(v) if isinstance(v, tuple) else v   # noqa: E731
                             for f in fields(s) for v in [getattr(s, f.name)]}
        top = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("model", "doc", *SECTIONS)}
        return {"_doc": self.doc, "model": self.model.to_dict(),
                **{name: section(getattr(self, name)) for name in SECTIONS}, **top}

    @classmethod
    def from_dict(cls, data, source: str) -> "TrainConfig":
        """A TrainConfig from the layout of a config file (no `base`); one EngineError sentence
        starting with `source` (e.g. "Train config shipped.json") for any unknown key or bad value."""
        try:
            _check_keys(data, "")
            missing = [f"{name}.{f.name}" for name, kind in SECTIONS.items() for f in fields(kind)
                       if f.default is MISSING and f.name not in data.get(name, {})]
            if missing:
                raise ValueError(f"missing key '{missing[0]}'")
            top = {("doc" if k == "_doc" else k): v for k, v in data.items() if k not in ("model", *SECTIONS)}
            return cls(model=_model_config(**data.get("model", {})),
                       **{name: kind(**data.get(name, {})) for name, kind in SECTIONS.items()}, **top)
        except ValueError as exc:
            raise EngineError(f"{source}: {exc}.") from None

    def with_overrides(self, source: str, *, model: dict | None = None, data: dict | None = None,
                       optimisation: dict | None = None, loss_weights: dict | None = None, **top) -> "TrainConfig":
        """A copy with these fields changed (per section, e.g. optimisation={"max_steps": 8}, and
        top-level ones as keywords), checked like a file's; `source` starts the error sentence."""
        try:
            sections = {name: replace(getattr(self, name), **changes)
                        for name, changes in (("data", data), ("optimisation", optimisation),
                                              ("loss_weights", loss_weights)) if changes}
            if model:
                sections["model"] = _model_config(**{**self.model.to_dict(), **model})
            return replace(self, **sections, **top)
        except ValueError as exc:
            raise EngineError(f"{source}: {exc}.") from None


def _check_keys(data, where: str) -> None:
    """Refuse anything but a JSON object of known keys (sections: objects of their own known keys)."""
    name = where.rstrip(".") or "the config"
    if not isinstance(data, dict):
        raise ValueError(f"{name} must be a JSON object, got {short_repr(data)}")
    known = {"_doc", "model", *SECTIONS, *(f.name for f in fields(TrainConfig) if f.name not in ("doc", "model", *SECTIONS))} \
        if not where else set(_MODEL_KEYS) if where == "model." else {f.name for f in fields(SECTIONS[where[:-1]])}
    for key in data:
        if key not in known:
            raise ValueError(f"unknown key '{where}{key}' ({name} has {', '.join(sorted(known))})")
    if not where:
        for section in ("model", *SECTIONS):
            if section in data:
                _check_keys(data[section], f"{section}.")


# --- files ------------------------------------------------------------------------------------

def config_path(path_or_name: str | Path) -> Path:
    """A config file by path, or by name in engine/train/configs."""
    path = Path(path_or_name)
    if not path.exists():
        path = CONFIG_DIR / f"{path_or_name}.json"
    if not path.exists():
        raise EngineError(f"Training config {path_or_name} not found (give a path or one of "
                          f"{', '.join(sorted(p.stem for p in CONFIG_DIR.glob('*.json')))}).")
    return path


def _read_merged(path_or_name, chain: tuple[str, ...] = ()) -> dict:
    """The file's JSON with its `base` chain resolved; each file's keys are checked where they are written."""
    path = config_path(path_or_name)
    label = f"Train config {path.name}"
    if str(path.resolve()) in chain:
        raise EngineError(f"{label}: its base chain comes back to itself.")
    try:
        data = json.loads(path.read_text())
    except (ValueError, RecursionError) as exc:
        raise EngineError(f"{label} is not valid JSON ({getattr(exc, 'msg', 'too deeply nested')}"
                          f"{f' at line {exc.lineno}' if hasattr(exc, 'lineno') else ''}).") from None
    base = data.pop("base", None) if isinstance(data, dict) else None
    try:
        _check_keys(data, "")
        if base is not None and not (isinstance(base, str) and base.strip()):
            raise ValueError(f"base must be a config name or path, got {short_repr(base)}")
    except ValueError as exc:
        raise EngineError(f"{label}: {exc}.") from None
    if base is None:
        return data
    merged = _read_merged(base, chain + (str(path.resolve()),))
    for key, value in data.items():
        merged[key] = {**merged.get(key, {}), **value} if key in ("model", *SECTIONS) else value
    return merged


def load_train_config(path_or_name: str | Path) -> TrainConfig:
    """The TrainConfig of a config file (by name in engine/train/configs, or a path)."""
    return TrainConfig.from_dict(_read_merged(path_or_name), f"Train config {config_path(path_or_name).name}")


def load_config(path_or_name: str | Path) -> dict:
    """The merged JSON of a config file (its `base` chain resolved), checked as `load_train_config`
    checks it; for scripts that want a section as a plain dict (e.g. `load_config("shipped")["model"]`
    as ModelConfig keywords)."""
    load_train_config(path_or_name)
    return _read_merged(path_or_name)


def read_checkpoint_config(path: str | Path) -> TrainConfig:
    """The TrainConfig a checkpoint was trained with (its info's `train_config`)."""
    from ..checkpoint import read_metadata

    data = read_metadata(path)["info"].get("train_config")
    if data is None:
        raise EngineError(f"Checkpoint {Path(path).name} does not record its train config.")
    return TrainConfig.from_dict(data, f"The train config of checkpoint {Path(path).name}")
