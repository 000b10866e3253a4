"""engine.missing_face: a nose and head top the detector did not give are placed from the body, in
the torso's frame, so the model is not fed a face at (0, 0) (issue #21)."""

import json

import numpy as np
import pytest

from engine.missing_face import BODY, FACE_MAP_FILE, PLACED_SCORE, fit_face_map, load_face_map, place_missing_face
from engine.skeleton import FACE, ROOT, THORAX
from tests.engine_support import require_shared


def _image_from_torso_frame(local, rng):
    """(T, 17, 2) torso-frame points -> image 2D with a random place, size and in-plane turn."""
    t = len(local)
    angle = rng.uniform(-np.pi, np.pi, t)
    up = np.stack([np.cos(angle), np.sin(angle)], -1)
    side = np.stack([-up[:, 1], up[:, 0]], -1)
    origin = rng.uniform(-800, 800, (t, 2))
    size = rng.uniform(20, 400, t)
    return origin[:, None] + (local[..., :1] * up[:, None] + local[..., 1:] * side[:, None]) * size[:, None, None]


def test_a_known_face_map_is_recovered_whatever_the_persons_place_size_and_turn(tmp_path):
    rng = np.random.default_rng(0)
    t = 400
    local = np.zeros((t, 17, 2))
    local[:, BODY] = rng.normal(0, 0.4, (t, len(BODY), 2))
    local[:, ROOT], local[:, THORAX] = (-1.0, 0.0), (0.0, 0.0)       # what the torso frame makes them
    true_map = rng.normal(0, 0.1, (2 * len(BODY) + 1, 2 * len(FACE)))
    body = np.concatenate([local[:, BODY].reshape(t, -1), np.ones((t, 1))], 1)
    local[:, FACE] = (body @ true_map).reshape(t, len(FACE), 2)
    kp = _image_from_torso_frame(local, rng)
    fitted = fit_face_map(kp, np.ones((t, 17)))
    assert fitted["rms_torso_lengths"] < 1e-6 < fitted["rms_torso_lengths_mean_face"]

    sc = np.ones((t, 17), np.float32)
    sc[:, FACE] = 0.0
    sc[:5, ROOT] = 0.0                                # no torso: nothing can be placed
    sc[5:10, FACE[0]] = 0.9                           # the nose seen: only the head top is placed
    return_kp, return_sc, placed = _place_with_map(fitted, kp, sc, tmp_path)
    assert not placed[:5].any() and placed[5:].all()
    assert np.all(return_sc[:5, FACE] == 0) and np.all(return_kp[:5] == kp[:5].astype(np.float32))
    assert np.all(return_sc[5:10, FACE[0]] == np.float32(0.9)) and np.all(return_kp[5:10, FACE[0]] == kp[5:10, FACE[0]].astype(np.float32))
    assert np.all(return_sc[10:, FACE] == np.float32(PLACED_SCORE)) and np.all(return_sc[5:10, FACE[1]] == np.float32(PLACED_SCORE))
    size = np.linalg.norm(kp[:, THORAX] - kp[:, ROOT], axis=-1)
    err = np.linalg.norm(return_kp[5:, FACE] - kp[5:, FACE], axis=-1) / size[5:, None]
    assert err.max() < 1e-4                           # float32 output


def _place_with_map(face_map, kp, sc, folder):
    path = folder / "map.json"
    path.write_text(json.dumps(face_map))
    return place_missing_face(kp, sc, path)


def test_the_shipped_map_puts_the_demo_persons_face_where_it_was(repo):
    """The bundled demo (a held-out clip's noisy 2D) without its face gets one within a fifth of a
    torso length of the real one, in the median; the other joints are untouched."""
    demo = np.load(repo / "engine" / "assets" / "demo_keypoints.npz", allow_pickle=False)
    kp, sc = demo["keypoints"].astype(np.float64), demo["scores"].astype(np.float32)
    seen = (sc[:, FACE] > 0).all(1) & (sc[:, [ROOT, THORAX]] > 0).all(1)
    gone = sc.copy()
    gone[:, FACE] = 0.0
    placed_kp, placed_sc, placed = place_missing_face(kp, gone)
    assert placed[seen].all()
    size = np.linalg.norm(kp[seen, THORAX] - kp[seen, ROOT], axis=-1)
    err = np.linalg.norm(placed_kp[seen][:, FACE] - kp[seen][:, FACE], axis=-1) / size[:, None]
    assert np.median(err) < 0.2, np.median(err, axis=0)
    others = [j for j in range(17) if j not in FACE]
    assert np.allclose(placed_kp[:, others], kp[:, others].astype(np.float32))
    assert np.array_equal(placed_sc[:, others], sc[:, others])
    weights, body_mean = load_face_map()
    assert weights.shape == (27, 4) and body_mean.shape == (13, 2)
    about = json.loads(FACE_MAP_FILE.read_text())["fitted_on"]
    assert about["split"] == "train"


def test_a_broken_face_map_is_one_clear_sentence(tmp_path):
    from engine.errors import EngineError

    bad = tmp_path / "map.json"
    bad.write_text('{"weights": [[1, 2]], "body_mean": [], "body_joints": [], "face_joints": []}')
    with pytest.raises(EngineError, match="does not fit this skeleton"):
        place_missing_face(np.random.default_rng(0).normal(size=(3, 17, 2)), np.ones((3, 17)) - np.eye(17)[[9, 9, 9]], bad)


def test_the_lift_places_a_missing_face_for_the_model_only(tiny_checkpoint):
    from engine.lifter import Lifter, SamplingSettings
    from tests.engine_support import walking_keypoints

    lifter = Lifter(tiny_checkpoint, "cpu")
    seq = walking_keypoints(frames=30)
    seq.scores[:, FACE] = 0.0
    seq.keypoints[:, FACE] = 0.0
    on = lifter.lift(seq, SamplingSettings())
    off = lifter.lift(seq, SamplingSettings(place_face=False))
    assert on.meta["face_placed_frames"] == 30 and off.meta["face_placed_frames"] == 0
    assert not np.allclose(on.joints3d, off.joints3d, atol=1e-4)     # the model saw a face
    full = walking_keypoints(frames=30)
    assert lifter.lift(full, SamplingSettings()).meta["face_placed_frames"] == 0


def test_fit_face_map_then_evaluate_with_the_face_missing(engine, tmp_path, repo):
    """The map is fitted from the training split; `evaluate --missing face` scores the shipped
    model with the face placed and, as a second row, left at (0, 0), which is far worse."""
    require_shared("data", "mocap")
    out = tmp_path / "face.json"
    proc = engine("fit-face-map", "--limit-clips", "3", "--every", "1", "--sources", "bandai1,cmu", "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["fitted_on"]["clips"] > 0 and doc["frames"] > 100
    assert doc["rms_torso_lengths"] < doc["rms_torso_lengths_mean_face"]
    load_face_map(out)
    result = tmp_path / "eval.json"
    proc = engine("evaluate", "--checkpoint", str(repo / "weights" / "dreampose3d.safetensors"), "--max-clips", "2",
                  "--missing", "face", "--output", str(result), "--threads", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(result.read_text())["results"]
    placed, unplaced = res["H=1"]["noisy"]["overall"]["mpjpe"], res["H=1 face unplaced"]["noisy"]["overall"]["mpjpe"]
    assert placed < unplaced - 10, (placed, unplaced)
