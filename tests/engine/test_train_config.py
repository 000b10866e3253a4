"""TrainConfig (engine.train.config), the data and licence table (engine.train.sources), the typed
loss weights, the empty-validation-split error, and the training tools as `python -m engine X`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import EngineError
from engine.train.config import (CONFIG_DIR, LossWeights, TrainConfig, load_config, load_train_config,
                                 read_checkpoint_config)
from engine_support import REPO, require_shared

SHIPPED_CONFIGS = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def write(tmp_path: Path, doc: dict, name: str = "mine.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


# --- loading and checking ---------------------------------------------------------------------

@pytest.mark.parametrize("name", SHIPPED_CONFIGS)
def test_every_shipped_config_loads_into_a_train_config(name):
    cfg = load_train_config(name)
    assert isinstance(cfg, TrainConfig) and cfg.doc            # every shipped config says what it is for
    assert cfg.optimisation.max_steps >= 1 and cfg.loss_weights.bone > 0
    assert cfg.network().window == cfg.model.window
    plain = load_config(name)             # the merged JSON some scripts read ("model" as ModelConfig keywords)
    assert "base" not in plain and {k: getattr(cfg.model, k) for k in plain["model"]} == plain["model"]


def test_shipped_configs_have_the_values_the_trainer_used():
    tiny, shipped = load_train_config("tiny"), load_train_config("shipped")
    assert tiny.optimisation.ema_decay == 0.9 and shipped.optimisation.ema_decay == 0.0   # default: no averaging
    assert shipped.data.width_range == (0.9, 1.9) and tiny.data.width_range is None
    assert shipped.loss_weights == LossWeights(bone=0.5, action=0.2, style=0.1)
    assert shipped.data.sources == ("bandai1", "bandai2", "cmu") and shipped.seed == 0 and shipped.ablation == "full"
    assert shipped.optimisation.minutes == 120.0 and isinstance(shipped.optimisation.minutes, float)


@pytest.mark.parametrize("doc, words", [
    ({"base": "tiny", "optimisation": {"lr_sheduler": "cosine"}}, "unknown key 'optimisation.lr_sheduler'"),
    ({"base": "tiny", "model": {"widht": 32}}, "unknown key 'model.widht'"),
    ({"base": "tiny", "train": {"lr": 0.1}}, "unknown key 'train'"),
    ({"base": "tiny", "loss_weights": {"bone_weight": 0.5}}, "unknown key 'loss_weights.bone_weight'"),
    ({"base": "tiny", "data": {"width-range": [1, 2]}}, "unknown key 'data.width-range'"),
])
def test_unknown_keys_are_refused_by_name(tmp_path, doc, words):
    with pytest.raises(EngineError) as info:
        load_train_config(write(tmp_path, doc))
    message = str(info.value)
    assert message.startswith("Train config mine.json: ") and words in message
    assert message.count(". ") == 0 and message.endswith(".")      # one sentence


def test_an_unknown_key_in_a_base_names_the_base(tmp_path):
    write(tmp_path, {"base": "tiny", "optimisation": {"lr_sheduler": 1}}, "parent.json")
    with pytest.raises(EngineError, match=r"^Train config parent\.json: unknown key 'optimisation\.lr_sheduler'"):
        load_train_config(write(tmp_path, {"base": str(tmp_path / "parent.json")}))


@pytest.mark.parametrize("section, key, value, words", [
    ("optimisation", "lr", "0.001", "optimisation.lr must be a number above 0"),
    ("optimisation", "batch_size", 4.5, "optimisation.batch_size must be an integer"),
    ("optimisation", "max_steps", True, "optimisation.max_steps must be an integer"),
    ("optimisation", "max_steps", 0, "optimisation.max_steps must be an integer from 1"),
    ("optimisation", "ema_decay", 1.0, "optimisation.ema_decay must be a number at least 0 and below 1"),
    ("optimisation", "minutes", float("nan"), "optimisation.minutes must be"),
    ("loss_weights", "bone", -0.5, "loss_weights.bone must be a number at least 0"),
    ("data", "sources", "bandai1,cmu", "data.sources must be a non-empty list"),
    ("data", "sources", ["bandai3"], "data.sources must be a non-empty list of distinct sources"),
    ("data", "width_range", [1.9, 0.9], "data.width_range must be null or [lo, hi]"),
    ("data", "neck_head_range", [0.0, 1.6], "data.neck_head_range must be null or [lo, hi]"),
    ("data", "neck_head_range", "0.55-1.6", "data.neck_head_range must be null or [lo, hi]"),
    ("data", "limit_clips", 0, "data.limit_clips must be an integer from 1"),
    ("model", "width", "96", "model.width must be an integer"),
    ("model", "width", 33, "model.width 33 must be divisible by heads 2"),
    (None, "seed", -1, "seed must be an integer from 0"),
    (None, "ablation", "no-such", "ablation must be one of"),
    (None, "device", "tpu", "device must be one of"),
    (None, "_doc", 5, "_doc must be a string"),
    (None, "optimisation", [1], "optimisation must be a JSON object"),
])
def test_wrong_types_and_ranges_are_refused_by_path(tmp_path, section, key, value, words):
    doc = {"base": "tiny", **({section: {key: value}} if section else {key: value})}
    with pytest.raises(EngineError) as info:
        load_train_config(write(tmp_path, doc))
    assert str(info.value).startswith("Train config mine.json: ") and words in str(info.value), str(info.value)


def test_missing_values_bad_json_base_loops_and_unknown_names(tmp_path):
    tiny = json.loads((CONFIG_DIR / "tiny.json").read_text())
    del tiny["optimisation"]["lr"]
    with pytest.raises(EngineError, match="missing key 'optimisation.lr'"):
        load_train_config(write(tmp_path, tiny))
    (tmp_path / "broken.json").write_text('{"base": "tiny",')
    with pytest.raises(EngineError, match=r"broken\.json is not valid JSON"):
        load_train_config(str(tmp_path / "broken.json"))
    write(tmp_path, {"base": str(tmp_path / "b.json")}, "a.json")
    write(tmp_path, {"base": str(tmp_path / "a.json")}, "b.json")
    with pytest.raises(EngineError, match="base chain comes back to itself"):
        load_train_config(str(tmp_path / "a.json"))
    with pytest.raises(EngineError, match="not found .*shipped"):
        load_train_config("no-such-config")


def test_the_ablation_model_and_overrides_are_checked():
    tiny = load_train_config("tiny")
    assert tiny.network().use_apl and not replace(tiny, ablation="no-apl").network().use_apl
    assert tiny.network(text_dim=512).text_dim == 512 and tiny.model.text_dim == 384
    changed = tiny.with_overrides("flags", optimisation={"max_steps": 8}, data={"sources": ("cmu",)}, seed=3,
                                  model={"text_encoder": "openclip"})
    assert (changed.optimisation.max_steps, changed.data.sources, changed.seed, changed.model.text_encoder) == \
        (8, ("cmu",), 3, "openclip")
    assert changed.optimisation.lr == tiny.optimisation.lr and tiny.optimisation.max_steps == 30   # a copy
    with pytest.raises(EngineError, match=r"^flags: optimisation\.batch_size must be an integer from 1"):
        tiny.with_overrides("flags", optimisation={"batch_size": 0})
    with pytest.raises(EngineError, match=r"^flags: threads must be"):
        tiny.with_overrides("flags", threads=-2)
    with pytest.raises(EngineError, match=r"model\.actions must be the training vocabulary"):
        TrainConfig.from_dict({**tiny.to_dict(), "model": {**tiny.model.to_dict(), "actions": ["walk"]}}, "x")


def test_flags_that_break_a_field_are_one_sentence_from_the_cli(tmp_path, capsys):
    from engine.cli import main

    assert main(["train", "--config", "tiny", "--run", str(tmp_path / "run"), "--max-steps", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: Train config tiny.json with the command-line flags: optimisation.max_steps must be "
                   "an integer from 1 to 1,000,000,000, got 0.")
    assert main(["train", "--config", str(tmp_path / "none.json"), "--run", str(tmp_path / "run")]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# --- the checkpoint carries the config ---------------------------------------------------------

@pytest.mark.parametrize("name", SHIPPED_CONFIGS)
def test_config_to_checkpoint_info_and_back_is_equal(tmp_path, name):
    from engine.checkpoint import save_checkpoint
    from engine.model import DreamPose3D
    from engine.train.trainer import checkpoint_info

    cfg = load_train_config(name).with_overrides("test", optimisation={"max_steps": 7}, data={"limit_clips": 3},
                                                 seed=11, ablation="no-sre", threads=1)
    small = cfg.with_overrides("test", model={"window": 9, "width": 16, "depth": 1, "heads": 2, "apl_width": 16,
                                              "apl_depth": 1})   # a network that saves quickly
    info = checkpoint_info(small, {"backend": "none"}, 7, 0.1, "cpu", [], {"val_mpjpe_mm": 1.0})
    path = save_checkpoint(DreamPose3D(small.network()), tmp_path / "m.safetensors", info)
    back = read_checkpoint_config(path)
    assert back == small and back.to_dict() == small.to_dict()
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())), "json") == cfg


def test_a_checkpoint_without_a_train_config_says_so(tiny_checkpoint):
    with pytest.raises(EngineError, match="does not record its train config"):
        read_checkpoint_config(tiny_checkpoint)


# --- data and licence strings ------------------------------------------------------------------

def test_sources_table_gives_the_shipped_checkpoints_data_and_licence_lines():
    from engine.checkpoint import read_metadata
    from engine.train.mocap_dataset import SOURCES as DATASET_SOURCES
    from engine.train.sources import SOURCES, data_description, weights_licence

    assert tuple(SOURCES) == DATASET_SOURCES
    info = read_metadata(REPO / "weights" / "dreampose3d.safetensors")["info"]
    shipped = info["training"]["sources"]
    assert data_description(shipped) == info["training"]["data"]
    assert weights_licence(shipped) == info["license"]
    assert data_description(["bandai1", "cmu"]) == \
        "Bandai-Namco-Research-Motiondataset 1 (CC BY-NC 4.0) and CMU mocap subset; test split held out"
    assert weights_licence(["cmu"]).startswith("weights: see the conditions") and "non-commercial" not in weights_licence(["cmu"])
    assert "custom" in data_description(["bandai2", "cmu", "custom"]).split(" and ")[-1]
    assert data_description(["bandai2", "cmu", "custom"]).count(", ") == 1


def test_demo_attribution_comes_from_the_sources_table():
    from engine.sequence import KeypointSequence
    from engine.train.sources import SOURCES

    demo = KeypointSequence.load(REPO / "engine" / "assets" / "demo_keypoints.npz")
    assert demo.meta["attribution"] == SOURCES["bandai1"].attribution


# --- losses ------------------------------------------------------------------------------------

def test_losses_take_typed_weights_and_the_skeletons_bones():
    from engine.skeleton import bone_lengths
    from engine.train.losses import training_losses

    rng = np.random.default_rng(0)
    joints = rng.normal(size=(2, 5, 17, 3))
    tensor = torch.from_numpy(joints).requires_grad_()
    lengths = bone_lengths(tensor)                            # the one definition, on tensors too ...
    np.testing.assert_allclose(lengths.detach().numpy(), bone_lengths(joints), rtol=1e-12)
    assert lengths.requires_grad                              # ... inside the autograd graph
    target = torch.from_numpy(joints.astype(np.float32))
    out = {"poses": target[:, :, None].repeat(1, 1, 3, 1, 1) + 0.1, "action_logits": torch.zeros(2, 4),
           "style_logits": torch.zeros(2, 3)}
    batch = {"joints3d": target, "action": torch.tensor([0, 1]), "style": torch.tensor([2, 0])}
    base = training_losses(out, batch, LossWeights(bone=1.0, action=1.0, style=1.0), first_stage=False)
    halved = training_losses(out, batch, LossWeights(bone=0.5, action=0.25, style=0.0), first_stage=False)
    assert torch.allclose(halved["bone"], 0.5 * base["bone"]) and torch.allclose(halved["action"], 0.25 * base["action"])
    assert halved["style"] == 0 and torch.allclose(halved["pose"], base["pose"])


# --- an empty validation split -------------------------------------------------------------------

def test_an_empty_validation_split_is_an_error_naming_split_and_sources(tmp_path, capsys):
    require_shared("data", "mocap")
    from engine.cli import main
    from engine.train.trainer import load_data

    cfg = load_train_config("tiny").with_overrides("test", data={"sources": ("bandai1", "cmu"), "limit_clips": 2})
    with pytest.raises(EngineError) as info:
        load_data(cfg)          # the first 2 files of each source are all training or test clips
    assert str(info.value).startswith("The validation split ('val') has no clips from the sources bandai1, cmu ")
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny", "--run", str(run), "--limit-clips", "2", "--sources", "bandai1,cmu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: The validation split ('val') has no clips") and "Traceback" not in "".join(err)
    assert not (run / "model.safetensors").exists()


# --- the training tools through `python -m engine` ----------------------------------------------

NEW_COMMANDS = ("tables", "export-weights", "make-demo")


def test_every_training_tool_is_a_listed_engine_command(capsys):
    from engine.cli import TRAINING_COMMANDS, main

    assert set(NEW_COMMANDS) | {"train", "evaluate", "prepare-data"} <= set(TRAINING_COMMANDS)
    for module in ("tables", "export_weights", "make_demo", "trainer", "evaluate", "prepare"):
        assert f"engine.train.{module}" in {m for m, _ in TRAINING_COMMANDS.values()}
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in TRAINING_COMMANDS:
        assert name in listing


@pytest.mark.parametrize("name", [*NEW_COMMANDS, "train", "evaluate", "prepare-data"])
def test_each_training_command_has_help(name, capsys):
    from engine.cli import main

    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ") and "--help" in out


def test_tables_command(tmp_path, capsys):
    from engine.cli import main

    for seed, mpjpe in ((0, 90.0), (1, 110.0)):
        (tmp_path / f"e-s{seed}-full.json").write_text(json.dumps(
            {"results": {"H=1": {"noisy": {"overall": {"mpjpe": mpjpe, "p_mpjpe": 60.0}}}}}))
    assert main(["tables", "--seeds", *sorted(str(p) for p in tmp_path.glob("*.json"))]) == 0
    assert "| full | 90.0 / 60.0 | 110.0 / 60.0 | 100.0 | 60.0 |" in capsys.readouterr().out
    assert main(["tables"]) == 2          # a usage error: no files


def test_export_weights_command(tmp_path, tiny_checkpoint, capsys):
    from engine.checkpoint import read_metadata
    from engine.cli import main

    target = tmp_path / "shipped.safetensors"
    assert main(["export-weights", str(tiny_checkpoint), str(target)]) == 0
    assert "shipped.safetensors" in capsys.readouterr().out
    info = read_metadata(target)["info"]
    assert info["model_card"] == "weights/MODEL_CARD.md" and info["training"] == read_metadata(tiny_checkpoint)["info"]["training"]


def test_export_weights_averages_runs_of_one_architecture(tmp_path, capsys):
    """--average ships the mean of runs warm-started from the same weights (a model soup), records
    each run, and refuses a run of another architecture in one sentence, writing nothing."""
    from engine.checkpoint import load_checkpoint, read_metadata, save_checkpoint
    from engine.cli import main
    from engine_support import make_tiny_checkpoint

    first = make_tiny_checkpoint(tmp_path / "a.safetensors")
    a, _ = load_checkpoint(first)
    with torch.no_grad():
        for p in a.model.parameters():
            p.add_(0.5)
    second = save_checkpoint(a.model, tmp_path / "b.safetensors", {"training": {"seed": 2}})
    target = tmp_path / "soup.safetensors"
    assert main(["export-weights", str(first), str(target), "--average", str(second)]) == 0
    soup, _ = load_checkpoint(target)
    base, _ = load_checkpoint(first)
    for (name, got), want in zip(soup.model.named_parameters(), base.model.parameters()):
        assert torch.allclose(got, want + 0.25, atol=2e-3), name          # fp16 storage
    runs = read_metadata(target)["info"]["averaged_runs"]
    assert [r["training"] for r in runs] == [{"note": "random weights, for tests"}, {"seed": 2}]

    wider = make_tiny_checkpoint(tmp_path / "wider.safetensors", mlp_ratio=4.0)
    capsys.readouterr()
    assert main(["export-weights", str(first), str(tmp_path / "bad.safetensors"), "--average", str(wider)]) == 2       # EXIT_ERROR
    assert capsys.readouterr().err.strip().endswith("has another architecture than the source, so the two cannot be averaged.")
    assert not (tmp_path / "bad.safetensors").exists()


def test_make_demo_command_rebuilds_the_bundled_demo(tmp_path, capsys):
    require_shared("data", "mocap")
    from engine.cli import main
    from engine.sequence import KeypointSequence

    out = tmp_path / "demo.npz"
    assert main(["make-demo", "--output", str(out)]) == 0
    made, shipped = KeypointSequence.load(out), KeypointSequence.load(REPO / "engine" / "assets" / "demo_keypoints.npz")
    np.testing.assert_array_equal(made.keypoints, shipped.keypoints)
    assert made.meta == shipped.meta
    assert main(["make-demo", "--clip", "no-such-clip", "--output", str(tmp_path / "x.npz")]) == 2
    assert capsys.readouterr().err.strip().endswith("is not in the test split (the demo must be a clip never trained on).")


# --- warm start --------------------------------------------------------------------------------

def test_warm_start_copies_a_checkpoints_weights_and_refuses_another_architecture(tmp_path):
    """--init-from: every session's training can start from the last good weights, and only from
    weights of the same network (a partial copy would silently train something else)."""
    from engine.checkpoint import load_checkpoint
    from engine.model import DreamPose3D
    from engine.train.trainer import warm_start
    from engine_support import make_tiny_checkpoint

    ckpt = make_tiny_checkpoint(tmp_path / "tiny.safetensors")
    source, meta = load_checkpoint(ckpt)
    torch.manual_seed(123)
    model = DreamPose3D(meta["config"])
    assert not torch.equal(model.embed.weight, source.model.embed.weight)
    messages = []
    warm_start(model, str(ckpt), messages.append)
    for name, tensor in source.model.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    assert messages == [f"warm start from {meta['id']}"]
    other = DreamPose3D(replace(meta["config"], width=64, heads=2))
    with pytest.raises(EngineError, match=r"--init-from tiny\.safetensors is another architecture than this config"):
        warm_start(other, str(ckpt), messages.append)
