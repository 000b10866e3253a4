"""Coordinate frames round-trip through their inverses, and the metrics agree with cases worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.frames import (blender_to_camera, camera_to_blender, denormalise_screen, ground_offset,
                           normalise_screen, to_grounded_blender)
from engine.metrics import accel_error, mpjpe, mpjve, p_mpjpe, procrustes_align
from engine.skeleton import LEFT_ANKLE, RIGHT_ANKLE

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (640, 640)])
def test_screen_normalisation_round_trips_and_keeps_the_aspect(size):
    w, h = size
    xy = RNG.uniform(-50, max(w, h) + 50, size=(30, 17, 2)).astype(np.float32)
    np.testing.assert_allclose(denormalise_screen(normalise_screen(xy, w, h), w, h), xy, rtol=1e-5, atol=1e-3)
    corners = normalise_screen(np.array([[0, 0], [w, h], [w / 2, h / 2]], np.float32), w, h)
    np.testing.assert_allclose(corners, [[-1, -h / w], [1, h / w], [0, 0]], atol=1e-6)   # centre at 0, x in [-1, 1]


def test_camera_and_blender_frames_round_trip_and_point_up():
    p = RNG.normal(size=(10, 17, 3))
    np.testing.assert_allclose(blender_to_camera(camera_to_blender(p)), p)
    np.testing.assert_allclose(camera_to_blender(blender_to_camera(p)), p)
    # camera y points down, z away from the camera: a point above the camera is +Z in Blender, one ahead is +Y
    np.testing.assert_allclose(camera_to_blender(np.array([1.0, -2.0, 3.0])), [1.0, 3.0, 2.0])


def test_grounding_puts_the_lowest_ankle_on_the_floor():
    joints = RNG.normal(scale=0.3, size=(20, 17, 3)).astype(np.float32)
    world = to_grounded_blender(joints)
    assert world[..., [LEFT_ANKLE, RIGHT_ANKLE], 2].min() == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(world[..., :2], camera_to_blender(joints)[..., :2], atol=1e-6)
    assert ground_offset(np.zeros((0, 17, 3))) == 0.0


def test_mpjpe_and_p_mpjpe_by_hand():
    gt = np.zeros((1, 17, 3))
    gt[0, 1:, 0] = np.arange(1, 17) * 0.1                   # joints on a line, root at the origin
    pred = gt.copy()
    pred[0, 5] += [0.0, 0.017, 0.0]                          # one joint 17 mm off
    assert mpjpe(pred, gt) == pytest.approx(1.0)            # 17 mm / 17 joints
    assert mpjpe(gt + 5.0, gt) == pytest.approx(0.0)        # root alignment removes a shift
    # a rotated, scaled and shifted copy is a perfect match after Procrustes ...
    theta = 0.7
    r = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    tri = RNG.normal(size=(1, 17, 3))
    moved = 2.5 * tri @ r + np.array([1.0, -2.0, 0.5])
    assert p_mpjpe(moved, tri) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(procrustes_align(moved, tri), tri, atol=1e-9)
    # worked by hand, three points on a line: pred x = 0, 1, 3 against 0, 1, 2. Centred, p = (-4, -1, 5) / 3
    # and g = (-1, 0, 1); the best scale is p.g / p.p = 3 / (42 / 9) = 9 / 14, so the aligned points are
    # 1 + 9/14 * p = (2, 11, 29) / 14, off by (2, 3, 1) / 14 m: a mean of 1/7 m.
    line_gt = np.array([[[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]])
    line_pred = np.array([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]])
    assert p_mpjpe(line_pred, line_gt) == pytest.approx(1000 / 7)
    # a mirror image of a chiral shape is not a match: Procrustes allows no reflection
    chiral = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]])
    assert p_mpjpe(chiral * np.array([-1.0, 1, 1]), chiral) > 100


def test_velocity_and_acceleration_errors_by_hand():
    t = np.arange(5, dtype=np.float64)
    gt = np.zeros((5, 17, 3))
    pred = np.zeros((5, 17, 3))
    pred[:, 3, 0] = 0.001 * t                 # one joint of 17 drifts 1 mm per frame
    assert mpjve(pred, gt) == pytest.approx(1.0 / 17)
    assert accel_error(pred, gt) == pytest.approx(0.0)
    pred[:, 3, 0] = 0.001 * t ** 2 / 2         # constant acceleration of 1 mm/frame^2
    assert accel_error(pred, gt) == pytest.approx(1.0 / 17)
