"""engine.view_aim: turning a virtual camera to the person is the same as filming with a camera
aimed at them (a real rotation of the rays, not a shift), and the lift undoes it exactly."""

import numpy as np
import pytest

from engine.lifter import SamplingSettings
from engine.errors import EngineError
from engine.view_aim import aim_points, aim_rotations, rotate_view, unrotate_joints

F = 1.7


def _project(p):
    return F * p[..., :2] / p[..., 2:3]


def _pose(rng, root):
    joints = rng.normal(0, 0.3, (5, 17, 3))
    joints[:, 0] = 0.0
    return joints + root


def test_turned_view_equals_a_camera_aimed_at_the_person():
    rng = np.random.default_rng(0)
    root = np.array([1.5, -0.4, 4.0])                 # far off to the right and up
    cam = _pose(rng, root)
    kp = _project(cam)[None]
    sc = np.ones(kp.shape[:-1])
    turns = aim_rotations(_project(root[None]), F)
    turned = rotate_view(kp, sc, turns, F)[0]
    assert np.allclose(turned[:, 0], 0.0, atol=1e-5)       # the pelvis is on the optical axis
    assert np.allclose(rotate_view(kp, sc, np.eye(3)[None], F), kp, atol=1e-6)
    expected = _project(cam @ turns[0].T)                   # the person filmed by the turned camera
    assert np.allclose(turned, expected, atol=1e-5)


def test_rotation_is_level_and_undone_exactly():
    rng = np.random.default_rng(1)
    turns = aim_rotations(rng.uniform(-0.8, 0.8, (6, 2)), F)
    assert np.allclose(turns @ turns.transpose(0, 2, 1), np.eye(3), atol=1e-9)
    assert np.allclose(turns[:, 0, 1], 0.0, atol=1e-9)      # the new x axis has no vertical part: no roll
    joints = rng.normal(size=(6, 4, 17, 3))
    turned = np.einsum("bij,bnkj->bnki", turns, joints)
    assert np.allclose(unrotate_joints(turned, turns), joints, atol=1e-5)


def test_aim_uses_the_pelvis_then_the_hips_and_ignores_missing_joints():
    kp = np.zeros((2, 3, 17, 2))
    sc = np.ones((2, 3, 17))
    kp[0, :, 0] = [0.5, 0.1]
    sc[1, :, 0] = 0.0                                        # no pelvis: the hips' midpoint
    kp[1, :, 1] = [-0.2, 0.0]
    kp[1, :, 4] = [-0.4, 0.2]
    aim = aim_points(kp, sc)
    assert np.allclose(aim[0], [0.5, 0.1]) and np.allclose(aim[1], [-0.3, 0.1])
    assert np.allclose(aim_points(kp, np.zeros_like(sc)), 0.0)
    turned = rotate_view(kp, np.where(np.arange(17) == 3, 0.0, 1.0)[None, None].repeat(3, 1).repeat(2, 0),
                         aim_rotations(aim, F), F)
    assert np.all(turned[:, :, 3] == 0.0)                    # a missing joint stays where the model expects it


def test_unknown_aim_mode_is_refused():
    with pytest.raises(EngineError, match="aim"):
        SamplingSettings(aim="sideways")


def test_the_lifter_turns_its_windows_to_the_person_and_back(tiny_checkpoint):
    """A person at the image centre is lifted the same with the aim on or off (the turn is the
    identity there); the same person seen off to the side is not: the model gets the centred view."""
    from engine.lifter import Lifter

    lifter = Lifter(tiny_checkpoint, "cpu")
    rng = np.random.default_rng(2)
    kp = rng.normal(0, 0.05, (40, 17, 2)).astype(np.float32)
    kp -= kp[:, :1]                                            # the pelvis exactly at the centre
    sc = np.ones((40, 17), np.float32)
    centred = {aim: lifter.lift_normalised(kp, sc, SamplingSettings(aim=aim), focal=F)[0] for aim in ("off", "window")}
    assert np.allclose(centred["off"], centred["window"], atol=1e-4)
    side = kp + np.float32([0.7, 0.0])
    off = {aim: lifter.lift_normalised(side, sc, SamplingSettings(aim=aim), focal=F)[0] for aim in ("off", "window")}
    assert np.abs(off["window"] - off["off"]).max() > 1e-3
