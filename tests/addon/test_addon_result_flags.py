"""Issue #18 in the bpy-free half: what each frame is (frame_flags), foot contacts and identity
segments read from a result, the gap runs and counts derived from them, and the markers named
after them."""

from __future__ import annotations

import json

import numpy as np
import pytest

import addon_synth
from addon.core import result_io, timeline


def _save(tmp_path, name="r.npz", **arrays):
    """A result file written by the engine's writer, then patched with raw arrays (what a broken
    or older writer might leave)."""
    path = tmp_path / name
    addon_synth.result_from_joints(addon_synth.walking_joints(20)).save(path)
    with np.load(path) as z:
        data = dict(z)
    for key, value in arrays.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    np.savez(path, **data)
    return path


def test_the_frame_kinds_are_the_engines():
    from engine import sequence

    assert (result_io.FRAME_DETECTED, result_io.FRAME_INTERPOLATED, result_io.FRAME_HELD) == \
        (sequence.FRAME_DETECTED, sequence.FRAME_INTERPOLATED, sequence.FRAME_HELD)
    assert result_io.FRAME_KINDS == sequence.FRAME_KINDS
    assert set(result_io.GAP_KINDS.values()) | {result_io.FRAME_DETECTED} == set(sequence.FRAME_KINDS)


def test_flags_contacts_and_segments_are_read_from_the_engines_file(tmp_path):
    src = addon_synth.gappy_result()
    path = tmp_path / "gappy.npz"
    src.save(path)
    res = result_io.load_result(path)
    assert res.frame_flags.dtype == np.uint8 and np.array_equal(res.frame_flags, src.frame_flags)
    assert res.contacts.dtype == bool and np.array_equal(res.contacts, src.contacts) and res.contacts.any()
    assert res.segments == [tuple(s) for s in addon_synth.GAPPY_SEGMENTS]
    assert res.gap_runs() == {"interpolated": [addon_synth.GAPPY_INTERPOLATED], "held": [addon_synth.GAPPY_HELD]}
    assert res.gap_counts() == {"interpolated": 3, "held": 60}
    assert res.gap_summary() == "60 frames held, 3 interpolated"
    # the runs derived from frame_flags are the ones the engine lists in meta["gaps"]
    assert {k: [list(r) for r in v] for k, v in res.gap_runs().items()} == src.meta["gaps"]


def test_an_older_result_reads_as_all_detected_without_contacts(tmp_path):
    res = result_io.load_result(_save(tmp_path, frame_flags=None, contacts=None))
    assert np.array_equal(res.frame_flags, np.zeros(20)) and not res.contacts.any() and res.contacts.shape == (20, 2)
    assert res.segments == [] and res.gap_counts() == {"interpolated": 0, "held": 0} and res.gap_summary() == ""


@pytest.mark.parametrize("arrays, message", [
    ({"frame_flags": np.zeros(19, np.uint8)}, r"frame_flags must hold one value per frame \(20\).*got shape \(19,\)\."),
    ({"frame_flags": np.full(20, 3, np.uint8)}, r"each 0 \(detected\), 1 \(interpolated\) or 2 \(held\)"),
    ({"frame_flags": np.full(20, 0.5)}, r"frame_flags must hold"),
    ({"frame_flags": np.array(["0"] * 20)}, r"frame_flags must hold"),
    ({"contacts": np.zeros((20, 3), bool)}, r"contacts must be \(20, 2\) true/false values .*got shape \(20, 3\)\."),
    ({"contacts": np.full((20, 2), 2)}, r"contacts must be \(20, 2\)"),
    ({"meta": np.str_(json.dumps({"segments": [[0, 25]]}))}, r"meta segments must be \[first, last\] frame pairs"),
    ({"meta": np.str_(json.dumps({"segments": [[5, 9], [0, 4]]}))}, r"meta segments must be"),
    ({"meta": np.str_(json.dumps({"segments": "all"}))}, r"meta segments must be"),
])
def test_a_bad_flag_contact_or_segment_list_is_one_sentence(tmp_path, arrays, message):
    with pytest.raises(result_io.ResultError, match=message) as err:
        result_io.load_result(_save(tmp_path, "bad.npz", **arrays))
    text = str(err.value)
    assert text.startswith("bad.npz: ") and text.endswith(".") and "\n" not in text and text.count(". ") == 0


def test_gap_runs_at_the_clip_ends_and_singletons():
    assert result_io.runs([1, 1, 0, 1, 0, 0, 1]) == [(0, 1), (3, 3), (6, 6)]
    assert result_io.runs([0, 0]) == [] and result_io.runs([]) == []


def test_markers_name_actions_gaps_and_identity_changes_in_scene_frames(tmp_path):
    src = addon_synth.gappy_result()
    src.prompt = ["a person walking"] * 150 + ["a person waving"] * 150
    path = tmp_path / "gappy.npz"
    src.save(path)
    res = result_io.load_result(path)
    assert timeline.marker_specs(res, frame_start=1) == [
        (1, "a person walking"), (13, "interp 13-15"), (121, "identity 2 121-300"), (151, "a person waving"),
        (171, "held 171-230"),
    ]
    assert timeline.marker_specs(res, frame_start=101)[1] == (113, "interp 113-115")
