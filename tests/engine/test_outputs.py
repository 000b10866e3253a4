"""engine.outputs: where a lift's results go."""

from __future__ import annotations

import pytest

from engine.errors import EngineError
from engine.outputs import output_paths, result_stem


def test_results_in_a_folder_keep_every_part_of_the_input_name_but_its_extension(tmp_path):
    folder = tmp_path / "pose_cam1_json"
    folder.mkdir()
    assert result_stem("take.v1.npz") == "take.v1"
    assert result_stem("jumping_jacks_front.mp4.npz") == "jumping_jacks_front.mp4"
    assert result_stem(str(folder) + "/") == "pose_cam1_json"
    out = tmp_path / "results"
    paths = output_paths(["a/take.v1.npz", "a/take.v2.npz"], str(out))
    assert [p.name for p in paths] == ["take.v1.npz", "take.v2.npz"]     # were both "take.npz": refused


def test_two_inputs_of_the_same_name_are_refused(tmp_path):
    with pytest.raises(EngineError, match="same name"):
        output_paths(["a/clip.json", "b/clip.json"], str(tmp_path / "out"))
