"""Source keypoint layouts and their one documented mapping to Human3.6M-17 (engine.skeleton).

Each `Layout` lists the source joint names in file order and a *recipe*: for every H36M joint,
the source joints whose mean gives it. A recipe entry may also name an already defined H36M joint
with a leading "@" (spine = mid(@pelvis, @thorax)). One source joint copies it; several make a
*derived* joint (marked in `Layout.notes()` and in every output's meta); an empty tuple means the
layout has no such joint (score 0 on every frame).

The recipes follow the common practice of MotionBERT's `coco2h36m`/`halpe2h36m`, as suggested in
shared/samples/README.md: pelvis = mid-hips, thorax = mid-shoulders (or the layout's own neck
point), spine = mid(pelvis, thorax), head top = the layout's head-top point or, where there is
none, mid-eyes (COCO-style) or mid-ears (MediaPipe). A derived joint's confidence is the minimum
of its parents' confidences, so it is missing whenever one parent is.

Because every recipe is linear, a layout compiles to one (17, S) weight matrix and the conversion
of a whole clip is a single matrix product (fast on 10,000-frame files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeleton import JOINT_NAMES, NUM_JOINTS

_SIDES = ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
          "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist")


@dataclass(frozen=True)
class Layout:
    """A source layout: joint names in file order plus the recipe to H36M-17 (see module doc)."""

    name: str
    joints: tuple[str, ...]
    recipe: dict[str, tuple[str, ...]]
    _weights: np.ndarray = field(init=False, repr=False, compare=False)
    _parents: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = np.zeros((NUM_JOINTS, len(self.joints)), dtype=np.float64)
        parents: list[set[int]] = [set() for _ in range(NUM_JOINTS)]
        index = {n: i for i, n in enumerate(self.joints)}
        for j, h36m in enumerate(JOINT_NAMES):
            parts = self.recipe.get(h36m, ())
            for part in parts:
                if part.startswith("@"):
                    weights[j] += self._expanded(part[1:], index)[0] / len(parts)
                    parents[j] |= self._expanded(part[1:], index)[1]
                else:
                    weights[j, index[part]] += 1.0 / len(parts)
                    parents[j].add(index[part])
        width = max(1, max(len(p) for p in parents))
        # Padded parent index table; -1 pads point at an extra always-1 score column.
        table = np.full((NUM_JOINTS, width), -1, dtype=np.int64)
        for j, p in enumerate(parents):
            table[j, : len(p)] = sorted(p)
        object.__setattr__(self, "_weights", weights.astype(np.float32))
        object.__setattr__(self, "_parents", table)

    def _expanded(self, h36m: str, index: dict[str, int]) -> tuple[np.ndarray, set[int]]:
        w = np.zeros(len(self.joints))
        parts = self.recipe.get(h36m, ())
        for part in parts:
            w[index[part]] += 1.0 / len(parts)
        return w, {index[p] for p in parts}

    @property
    def size(self) -> int:
        return len(self.joints)

    def derived(self) -> list[str]:
        """H36M joints this layout builds from several source joints."""
        return [n for n in JOINT_NAMES if len(self._source_set(n)) > 1]

    def missing(self) -> list[str]:
        """H36M joints this layout cannot provide at all."""
        return [n for n in JOINT_NAMES if not self._source_set(n)]

    def _source_set(self, h36m: str) -> set[int]:
        return {int(i) for i in self._parents[JOINT_NAMES.index(h36m)] if i >= 0}

    def notes(self) -> dict[str, str]:
        """Human-readable recipe per H36M joint, derived ones marked, for output meta."""
        out = {}
        for h36m in JOINT_NAMES:
            parts = self.recipe.get(h36m, ())
            if not parts:
                out[h36m] = "missing (not in this layout)"
            elif len(parts) == 1 and not parts[0].startswith("@"):
                out[h36m] = parts[0]
            else:
                out[h36m] = f"derived: mean({', '.join(parts)})"
        return out

    def to_h36m(self, points: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., S, D) points + (..., S) scores -> (..., 17, D) points + (..., 17) scores.

        Missing outputs (score 0) get coordinates 0, as the canonical contract asks.
        """
        points = np.asarray(points, dtype=np.float32)
        scores = np.asarray(scores, dtype=np.float32)
        if points.shape[-2] != self.size:
            raise ValueError(f"{self.name} has {self.size} joints, got {points.shape[-2]}")
        safe = np.where((scores > 0)[..., None], points, 0.0).astype(np.float32)
        out = np.einsum("js,...sd->...jd", self._weights, safe, optimize=True).astype(np.float32)
        padded = np.concatenate([scores, np.ones(scores.shape[:-1] + (1,), np.float32)], axis=-1)
        out_scores = padded[..., self._parents].min(axis=-1)
        out_scores[..., [not self._source_set(n) for n in JOINT_NAMES]] = 0.0
        out[out_scores <= 0] = 0.0
        return out, out_scores.astype(np.float32)


def _coco_like(name: str, joints: tuple[str, ...], head: tuple[str, ...], pelvis=None, thorax=None) -> Layout:
    """Recipe shared by every COCO-named layout (the four limbs keep their COCO names)."""
    recipe = {s: (s,) for s in _SIDES}
    recipe.update(
        pelvis=pelvis or ("left_hip", "right_hip"),
        thorax=thorax or ("left_shoulder", "right_shoulder"),
        spine=("@pelvis", "@thorax"),
        neck=("nose",),
        head=head,
    )
    return Layout(name, joints, recipe)


COCO17_JOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                 "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                 "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")

#: COCO-17 (Detectron2, VideoPose3D, AlphaPose/MMPose COCO models). No head top: mid-eyes.
COCO17 = _coco_like("coco17", COCO17_JOINTS, head=("left_eye", "right_eye"))

#: HALPE-26 (AlphaPose): COCO-17 + head top, neck, pelvis centre and feet.
HALPE26 = _coco_like(
    "halpe26",
    COCO17_JOINTS + ("head_top", "upper_neck", "hip_centre", "left_big_toe", "right_big_toe",
                     "left_small_toe", "right_small_toe", "left_heel", "right_heel"),
    head=("head_top",), pelvis=("hip_centre",), thorax=("upper_neck",),
)

#: COCO-WholeBody-133 (RTMPose/MMPose wholebody): the first 17 points are COCO-17; the rest
#: (feet, face, hands) are not used.
COCO_WHOLEBODY133 = _coco_like(
    "coco_wholebody133", COCO17_JOINTS + tuple(f"extra_{i}" for i in range(17, 133)),
    head=("left_eye", "right_eye"),
)

_FEET = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")

#: OpenPose BODY_25B (Pose2Sim's model): COCO-17 order, then upper neck, head top and feet.
BODY25B = _coco_like("body25b", COCO17_JOINTS + ("upper_neck", "head_top") + _FEET, head=("head_top",))

#: OpenPose BODY_25 (the default model). No head top: mid-eyes, like COCO.
BODY25 = _coco_like(
    "body25",
    ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
     "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
     "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear") + _FEET,
    head=("left_eye", "right_eye"),
)

#: OpenPose COCO-18 (the old `--model_pose COCO`). No head top: mid-eyes.
COCO18 = _coco_like(
    "coco18",
    ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
     "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
     "right_eye", "left_eye", "right_ear", "left_ear"),
    head=("left_eye", "right_eye"),
)

#: MediaPipe Pose / BlazePose 33 landmarks. No head top: mid-ears.
MEDIAPIPE33 = _coco_like(
    "mediapipe33",
    ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
     "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
     "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
     "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
     "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
     "right_heel", "left_foot_index", "right_foot_index"),
    head=("left_ear", "right_ear"),
)

#: Pose2Sim TRC markers (matched by name, file order does not matter): thorax = Neck marker.
POSE2SIM_TRC = Layout(
    "pose2sim_trc",
    ("RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Neck", "Head", "Nose",
     "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist"),
    {"pelvis": ("RHip", "LHip"), "right_hip": ("RHip",), "right_knee": ("RKnee",),
     "right_ankle": ("RAnkle",), "left_hip": ("LHip",), "left_knee": ("LKnee",),
     "left_ankle": ("LAnkle",), "spine": ("@pelvis", "Neck"), "thorax": ("Neck",),
     "neck": ("Nose",), "head": ("Head",), "left_shoulder": ("LShoulder",),
     "left_elbow": ("LElbow",), "left_wrist": ("LWrist",), "right_shoulder": ("RShoulder",),
     "right_elbow": ("RElbow",), "right_wrist": ("RWrist",)},
)

#: The canonical contract layout itself (identity mapping).
H36M17 = Layout("h36m17", JOINT_NAMES, {n: (n,) for n in JOINT_NAMES})

LAYOUTS: dict[str, Layout] = {
    lay.name: lay for lay in (COCO17, HALPE26, COCO_WHOLEBODY133, BODY25B, BODY25, COCO18,
                              MEDIAPIPE33, POSE2SIM_TRC, H36M17)
}

#: Layout by joint count for files that do not name their layout. 25 is ambiguous
#: (BODY_25 vs BODY_25B): see `engine.readers.openpose.guess_body25_variant`.
BY_COUNT: dict[int, Layout] = {17: COCO17, 26: HALPE26, 133: COCO_WHOLEBODY133, 18: COCO18, 33: MEDIAPIPE33}


def from_mapping(name: str, source_joints: tuple[str, ...], mapping: dict[str, str]) -> Layout:
    """Layout for a user mapping {source joint: H36M joint name} (DeepLabCut projects).

    Several source joints on one H36M joint are averaged. Unmapped pelvis, thorax and spine are
    derived from the hips / shoulders when those are mapped; other unmapped joints are missing.
    """
    recipe: dict[str, tuple[str, ...]] = {}
    for src, dst in mapping.items():
        recipe[dst] = recipe.get(dst, ()) + (src,)
    if "pelvis" not in recipe and {"left_hip", "right_hip"} <= recipe.keys():
        recipe["pelvis"] = recipe["left_hip"] + recipe["right_hip"]
    if "thorax" not in recipe and {"left_shoulder", "right_shoulder"} <= recipe.keys():
        recipe["thorax"] = recipe["left_shoulder"] + recipe["right_shoulder"]
    if "spine" not in recipe and {"pelvis", "thorax"} <= recipe.keys():
        recipe["spine"] = ("@pelvis", "@thorax")
    return Layout(name, source_joints, recipe)
