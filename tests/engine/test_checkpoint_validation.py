"""A bad checkpoint is one sentence, never a traceback, and `engine info` refuses what `lift` refuses (issue #16).

Each case is a copy of the tiny test checkpoint with one tensor or one metadata value spoiled.
"""

import json
import math
from dataclasses import fields

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from engine.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, read_metadata
from engine.cli import main
from engine.errors import CheckpointError, EngineError
from engine.model import DreamPose3D, ModelConfig
from engine.model.config import _CHECKS, APL_HEADS
from engine_support import walking_keypoints


def _reshape(t):
    t["embed.weight"] = torch.zeros(t["embed.weight"].shape[0], 7)


def _drop(t):
    del t["hpd.head.bias"]


def _extra(t):
    t["denoiser.blah"] = torch.zeros(3)


def _integer(t):
    t["hpd.head.bias"] = t["hpd.head.bias"].long()


def _nan(t):
    t["hpd.head.weight"][0, 0] = math.nan


def _inf(t):
    t["embed.bias"][1] = -math.inf


TENSOR_CASES = {"wrong shape": _reshape, "missing tensor": _drop, "extra tensor": _extra,
                "integer tensor": _integer, "NaN weight": _nan, "infinite weight": _inf}
META_CASES = {
    "format_version abc": {"format_version": "abc"}, "format_version -1": {"format_version": "-1"},
    "info a list": {"info": "[1, 2]"}, "info not JSON": {"info": "{nope"}, "info nested deep": {"info": "[" * 100_000},
    "config not JSON": {"config": "{nope"}, "config a list": {"config": "[1]"}, "config missing": {"config": None},
}
CONFIG_CASES = {
    "schedule unknown": {"schedule": "quadratic"}, "timesteps 0": {"timesteps": 0},
    "timesteps huge": {"timesteps": 10 ** 6}, "width negative": {"width": -32}, "depth negative": {"depth": -1},
    "heads negative": {"heads": -2}, "apl_width negative": {"apl_width": -32}, "window 0": {"window": 0},
    "window 10**9": {"window": 10 ** 9}, "actions a string": {"actions": "walk"},
    "actions not strings": {"actions": ["walk", 3]}, "actions repeated": {"actions": ["walk", "walk"]},
    "styles empty name": {"styles": [""]}, "text_encoder unknown": {"text_encoder": "bert"},
    "num_joints 18": {"num_joints": 18}, "depth a string": {"depth": "four"}, "mlp_ratio a string": {"mlp_ratio": "2"},
    "depth a bool": {"depth": True}, "width a float": {"width": 32.0}, "apl_width 30": {"apl_width": 30},
    "dropout 1": {"dropout": 1.0}, "mlp_ratio NaN": {"mlp_ratio": math.nan}, "signal_scale inf": {"signal_scale": math.inf},
    "prompt_mode unknown": {"prompt_mode": "x"}, "use_apl a string": {"use_apl": "yes"}, "version a string": {"version": "x"},
    "version newer": {"version": 2}, "hpd_frames even": {"hpd_frames": 2}, "unknown field": {"colour": "red"},
}


def spoiled(src, dst, tensors=None, meta=None, config=None):
    """A copy of checkpoint `src` at `dst` with its tensors edited in place, metadata or config values replaced."""
    with safe_open(str(src), framework="pt") as f:
        state, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    if tensors:
        tensors(state)
    if config:
        metadata["config"] = json.dumps({**json.loads(metadata["config"]), **config})
    metadata = {k: v for k, v in {**metadata, **(meta or {})}.items() if v is not None}
    save_file(state, str(dst), metadata=metadata)
    return dst


@pytest.fixture()
def bad_checkpoint(request, tiny_checkpoint, tmp_path):
    kind, case = request.param
    change = {"tensors": TENSOR_CASES, "meta": META_CASES, "config": CONFIG_CASES}[kind][case]
    return spoiled(tiny_checkpoint, tmp_path / "bad.safetensors", **{kind: change})


ALL_CASES = [("tensors", c) for c in TENSOR_CASES] + [("meta", c) for c in META_CASES] + \
    [("config", c) for c in CONFIG_CASES]


@pytest.mark.parametrize("bad_checkpoint", ALL_CASES, ids=[c for _, c in ALL_CASES], indirect=True)
def test_bad_checkpoint_is_one_sentence_for_load_info_and_lift(bad_checkpoint, tmp_path, capsys):
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(bad_checkpoint)
    message = str(caught.value)
    assert isinstance(caught.value, EngineError) and "\n" not in message and message.endswith(".")
    assert "bad.safetensors" in message, message

    capsys.readouterr()
    assert main(["info", "--checkpoint", str(bad_checkpoint)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [f"error: {message}"]

    keypoints, result = tmp_path / "walk.npz", tmp_path / "out.npz"
    walking_keypoints(30, 640, 480).save(keypoints)
    assert main(["lift", str(keypoints), "-o", str(result), "--checkpoint", str(bad_checkpoint), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {message}"] and "Traceback" not in err
    assert not result.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.safetensors", "walk.npz"]


def test_shipped_checkpoint_passes(capsys):
    meta = read_metadata(DEFAULT_CHECKPOINT)
    assert meta["id"].startswith("dreampose3d-") and meta["config"].window == 81
    assert main(["info", "--checkpoint", str(DEFAULT_CHECKPOINT), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == meta["config"].to_dict()


def test_every_config_field_is_checked_and_the_defaults_pass():
    assert set(_CHECKS) == {f.name for f in fields(ModelConfig)}
    ModelConfig()
    assert DreamPose3D(ModelConfig()).apl.blocks[0].attn.heads == APL_HEADS   # the model's APL heads, as validated


def test_training_configs_and_ablations_still_build():
    from engine.train.ablations import ABLATIONS
    from engine.train.labels import ACTION_VOCAB, STYLE_VOCAB
    from engine.train.trainer import CONFIG_DIR, load_config

    for path in CONFIG_DIR.glob("*.json"):
        for ablation in ABLATIONS.values():   # as the trainer builds it
            ModelConfig(actions=list(ACTION_VOCAB), styles=list(STYLE_VOCAB), **{**load_config(path.stem)["model"], **ablation})


@pytest.mark.parametrize("case", [c for c in CONFIG_CASES if c not in ("unknown field", "version newer")])
def test_each_bad_field_is_a_value_error_naming_it(case):
    (field, value), = CONFIG_CASES[case].items()
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        ModelConfig(**{field: value})


@pytest.mark.parametrize("overrides", [{"width": 30, "heads": 4}, {"width": 33, "heads": 3}])
def test_width_must_suit_the_heads_and_the_timestep_embedding(overrides):
    with pytest.raises(ValueError, match="^width"):
        ModelConfig(**overrides)
