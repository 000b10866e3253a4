"""Issue #19's pieces that need no Blender: the engine handshake, the progress mapping, one
process lifecycle that never blocks on cancel, wrapping to a width, the formats menu, and the
generated-Rigify preset that Auto mapping picks."""

from __future__ import annotations

import os
import time

import pytest

from addon.core import engine_client, retarget
from addon.core.wrap import wrap_to_width

# ----------------------------------------------------------------------------- the handshake


def test_the_add_on_and_the_engine_speak_the_same_protocol():
    from engine.cli import PROTOCOL

    assert engine_client.PROTOCOL == PROTOCOL


def test_a_protocol_mismatch_is_one_sentence():
    ok = {"event": "hello", "engine_version": "0.1.0", "protocol": engine_client.PROTOCOL}
    assert engine_client.protocol_problem(ok, "/py") is None
    old = engine_client.protocol_problem({"event": "start", "frames": 3}, "/venv/bin/python")
    assert old.startswith("The engine at /venv/bin/python is older than this add-on") and old.count(".") == 1
    newer = engine_client.protocol_problem({**ok, "protocol": 3, "engine_version": "0.2.0"}, "/py")
    assert "(version 0.2.0) speaks protocol 3, but this add-on speaks protocol 2" in newer and newer.endswith(".")


@pytest.mark.parametrize("protocol, says", [("none", "does not state its protocol version"), ("7", "speaks protocol 7")])
def test_run_lift_stops_an_engine_of_another_protocol(fake_engine, monkeypatch, tmp_path, protocol, says):
    monkeypatch.setenv("FAKE_ENGINE_PROTOCOL", protocol)
    events = []
    with pytest.raises(engine_client.EngineClientError, match=says):
        engine_client.run_lift(["w.npz"], tmp_path / "o.npz", engine_client.LiftOptions(), on_event=events.append)
    assert events == [] and not (tmp_path / "o.npz").exists()     # nothing it said was taken


# ----------------------------------------------------------------------------- progress


def test_progress_rises_names_its_stages_and_reaches_100_only_when_done():
    p = engine_client.Progress()
    seen = []
    for ev in [{"event": "stage", "stage": "reading", "fraction": 0.0},
               {"event": "stage", "stage": "detecting", "done": 40, "total": 300},    # a stage without a fraction
               {"event": "start", "frames": 300},
               {"event": "stage", "stage": "loading the model", "fraction": 0.05},
               {"event": "progress", "stage": "lifting", "done": 1, "total": 4, "fraction": 0.3},
               {"event": "progress", "stage": "lifting", "done": 2, "total": 4, "fraction": 0.2},   # never back
               {"event": "progress", "stage": "lifting", "done": 4, "total": 4, "fraction": 0.85},
               {"event": "stage", "stage": "a stage from a newer engine"},
               {"event": "stage", "stage": "writing", "fraction": 0.96},
               {"event": "done", "output": "o.npz"}]:
        p.update(ev)
        seen.append((p.percent, p.status))
    percents = [s[0] for s in seen]
    assert percents == sorted(percents) and percents[-1] == 100 and max(percents[:-1]) < 100
    statuses = [s[1] for s in seen]
    assert statuses[1] == "detecting 40/300" and "lifting 1/4" in statuses and "lifting 4/4" in statuses
    assert "a stage from a newer engine" in statuses and statuses[-1] == "reading the result"


# ----------------------------------------------------------------------------- one lifecycle


def test_cancel_returns_at_once_and_the_engine_still_ends(fake_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "hang")
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("FAKE_ENGINE_PIDFILE", str(pidfile))
    job = engine_client.start_lift(["w.npz"], tmp_path / "o.npz", engine_client.LiftOptions())
    deadline = time.monotonic() + 20
    while not any(ev.get("event") == "progress" for ev in job.drain()) and time.monotonic() < deadline:
        time.sleep(0.05)
    removed = []
    t0 = time.monotonic()
    job.cancel(then=lambda: removed.append(True))
    assert time.monotonic() - t0 < 0.1                     # the UI thread never waits
    while job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.poll() is not None and str(job.error()) == "The run was cancelled."
    time.sleep(0.2)
    assert removed == [True]
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


def test_inspect_and_info_run_as_background_jobs(fake_engine):
    job = engine_client.start_json(engine_client.inspect_argv("clip.json", "openpose", "map.json"))
    assert job.argv[-5:] == ["inspect", "clip.json", "--format", "openpose", "--mapping", "map.json"][-5:]
    while job.poll() is None:
        time.sleep(0.05)
    assert job.error() is None and [p["id"] for p in job.json_answer()["people"]] == [0, 3]
    assert engine_client.info()["format"] == "keypoints-npz"        # the waited-for form, headless


def test_a_job_past_its_timeout_stops_with_one_sentence(fake_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "hang")
    job = engine_client.EngineJob(engine_client.find_engine() + ["lift", "w.npz", "-o", str(tmp_path / "o.npz")],
                                  timeout=0.5).start()
    deadline = time.monotonic() + 20
    while job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert str(job.error()) == "The engine did not answer 'lift' within 0.5 seconds."


def test_the_dlc_mapping_file_goes_to_the_engine_as_mapping():
    assert engine_client.LiftOptions(mapping="/m/map.json").argv()[-2:] == ["--mapping", "/m/map.json"]


# ----------------------------------------------------------------------------- wrapping


def test_wrapping_keeps_every_word_and_fits_the_width():
    measure = lambda text: 6.0 * len(text)   # noqa: E731  a fixed-width stand-in for blf
    text = ("The keypoint folder pose_cam1_json does not state the image size of its frames; enter it in the "
            "Image size field.")
    lines = wrap_to_width(text, 150, measure)
    assert " ".join(lines) == text and len(lines) > 3
    assert all(measure(line) <= 150 for line in lines)
    long = "/a/very/long/path/without/any/space/in/it/that/is/wider/than/the/sidebar.json"
    pieces = wrap_to_width(long, 60, measure)
    assert "".join(pieces) == long and all(measure(p) <= 60 for p in pieces)
    assert wrap_to_width("", 60, measure) == [""]


# ----------------------------------------------------------------------------- formats and presets


def test_the_format_menu_lists_the_engines_formats():
    from engine.readers import FORMATS

    from addon.core.engine_defaults import FORMAT_NAMES

    assert set(FORMAT_NAMES) <= set(FORMATS)
    assert set(FORMATS) - set(FORMAT_NAMES) <= {"video"}     # a video needs no format: Auto


GENERATED_RIG_BONES = [
    "root", "MCH-torso.parent", "torso", "hips", "chest", "neck", "head", "MCH-ROT-neck", "MCH-ROT-head",
    "spine_fk", "spine_fk.001", "tweak_spine", "ORG-spine", "DEF-spine", "ORG-spine.003",
    *[f"{b}.{s}" for s in "LR" for b in ("shoulder", "upper_arm_fk", "forearm_fk", "hand_fk", "thigh_fk", "shin_fk",
                                         "foot_fk", "upper_arm_ik", "thigh_ik", "upper_arm_parent", "thigh_parent",
                                         "MCH-upper_arm_parent", "DEF-upper_arm", "ORG-upper_arm", "hand_ik",
                                         "foot_ik", "upper_arm_tweak", "DEF-hand", "ORG-hand", "toe")],
]


def test_auto_mapping_picks_the_generated_rigify_preset_with_fk_switched_on():
    m = retarget.auto_mapping(GENERATED_RIG_BONES)
    assert m.name == "Rigify generated rig (FK)" and m.root == "torso"
    assert {"upper_arm_fk.L", "forearm_fk.R", "thigh_fk.L", "shin_fk.R", "hand_fk.L"} <= set(m.bones)
    assert set(m.level) == {"foot_fk.L", "foot_fk.R"}
    assert m.properties == {f"{b}.{s}": {"IK_FK": 1.0} for b in ("upper_arm_parent", "thigh_parent") for s in "LR"}


def test_the_metarig_still_gets_the_metarig_preset():
    metarig = ["spine", "spine.001", "spine.002", "spine.003", "spine.004", "spine.005", "spine.006",
               *[f"{b}.{s}" for s in "LR" for b in ("shoulder", "upper_arm", "forearm", "hand", "thigh", "shin",
                                                   "foot", "toe", "heel.02", "pelvis", "breast")]]
    assert retarget.auto_mapping(metarig).name == "Rigify metarig"


def test_the_panel_knows_the_engines_video_suffixes(registered):
    from engine.video import VIDEO_SUFFIXES

    from addon.blender.properties import VIDEO_EXTENSIONS, is_video

    assert tuple(VIDEO_EXTENSIONS) == tuple(VIDEO_SUFFIXES)
    assert is_video("/clips/Jumping.MP4") and not is_video("/clips/pose.json")


def test_openpose_layout_sentences_name_the_layout_field():
    from addon.core.field_words import in_field_words

    label = {"layout": "Layout"}.__getitem__
    assert in_field_words("layout body25b guessed from the keypoint geometry (force it with --layout)", label) == \
        "layout body25b guessed from the keypoint geometry (choose it in the Layout field)"
    assert in_field_words("a.json could be BODY_25 or BODY_25B and the keypoints cannot tell; pass --layout body25 "
                          "or body25b.", label).endswith("; choose body25 or body25b in the Layout field.")
    assert engine_client.LiftOptions(layout="body25b").argv() == ["--layout", "body25b"]
    assert "--layout" not in engine_client.LiftOptions(layout="auto").argv()
    assert engine_client.LiftOptions(lens_mm=26.0).argv() == ["--lens-mm", "26"]
    assert "--lens-mm" not in engine_client.LiftOptions().argv()            # 0: the engine's own lens
