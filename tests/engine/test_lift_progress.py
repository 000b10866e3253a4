"""Progress a progress bar can use (issue #19 item 2): `Lifter.lift` reports each denoising step
of each batch of windows, over the flip pass too, and names the work after the model; `lift` on
the command line turns that into stage and progress events whose `fraction` only rises and is 1
only in "done"."""

from __future__ import annotations

import json
from dataclasses import replace

from engine_support import walking_keypoints
from engine.lifter import PRESETS, Lifter
from engine.windows import window_starts


def test_lift_reports_every_step_of_every_batch_and_the_stages_after_the_model(tiny_checkpoint):
    lifter = Lifter(tiny_checkpoint, "cpu")           # 27-frame windows
    no_flip = replace(PRESETS["fast"], flip=False)
    for s, frames, passes in ((PRESETS["fast"], 120, 2), (no_flip, 120, 1), (PRESETS["quality"], 40, 2)):
        calls, stages = [], []
        lifter.lift(walking_keypoints(frames), s, progress=lambda d, n: calls.append((d, n)), stage=stages.append)
        batches = -(-len(window_starts(frames, lifter.config.window, s.overlap)) // s.batch_windows)
        total = passes * batches * s.steps
        assert calls == [(d, total) for d in range(1, total + 1)]     # one clip of one batch still moves
        assert stages == ["smoothing", "cleaning up"]


def test_lift_events_name_their_stage_and_fraction(engine, tiny_checkpoint, tmp_path):
    kp = tmp_path / "long.npz"
    walking_keypoints(120).save(kp)
    proc = engine("lift", str(kp), "-o", str(tmp_path / "out.npz"), "--checkpoint", str(tiny_checkpoint),
                  "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert events[0]["event"] == "hello"
    fractions = [e["fraction"] for e in events if "fraction" in e]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and max(fractions[:-1]) < 1.0
    lifting = [e for e in events if e["event"] == "progress"]
    assert len(lifting) >= 3 and all(e["stage"] == "lifting" for e in lifting)
    assert lifting[-1]["fraction"] < 0.9                   # the clean-up and writing still count
