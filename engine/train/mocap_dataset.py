"""Mocap clips (H36M-17, metres, Y-up world) and the random-camera window sampler the trainer uses.

`load_clips` turns the BVH libraries in `../shared/data/mocap` into `MocapClip`s, through a cache
of one `.npz` per source (parsing ~3,000 BVH files takes minutes; the cache loads in a second).
`WindowSampler.sample` draws training windows: a clip (probability ~ length), body proportions
rescaled, one random real-looking camera per window, detector-like 2D noise, random mirroring.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frames import normalise_screen
from ..skeleton import BONES, JOINT_NAMES, LEFT_ANKLE, RIGHT_ANKLE, ROOT
from ..windows import window_starts
from . import cameras as cams
from .bvh import MocapError, read_bvh
from .detector_noise import add_detector_noise, drop_joint_groups, flip_batch
from .labels import (ACTION_VOCAB, MIRRORED_ACTION_INDEX, STYLE_VOCAB, bandai_labels, clip_stem, cmu_action, cmu_labels,
                     read_cmu_index)
from .limb_mix import IGNORE_LABEL, mix_batch
from .skeleton_maps import resolve_mapping, to_h36m
from .sources import DEFAULT_SOURCES

SOURCES = ("bandai1", "bandai2", "cmu", "custom", "cmu-extra")
SPLITS = ("train", "val", "test", "cross", "held", "all")
# The `cross` split: people, skeletons and activities the training data does not have, each on its own
# joint definitions (never retargeted to Bandai): CMU subjects 01 (playground) and 11 (soccer) from
# their own ASF skeletons, and the test files of the CMU motion-prediction set (subject 02's skeleton).
CROSS_SOURCES = ("cmu-extra",)
CMU_EXTRA_CROSS = ("asfamc/", "motion-prediction/test/")
# The cross split's people in the CMU subset: subject 01's other playground trials (001_01, 001_08,
# 001_14, retargeted like the rest of that subset). They are in no split ("held"), so that training
# never sees the cross split's people; weights trained before 2026-12-02 (fourth session) did.
CROSS_CMU_SUBJECTS = ("cmu_001_", "cmu_011_")
CACHE_VERSION = "mocap-v1"
ANKLE_HEIGHT = 0.08   # metres; H36M's ankle joint sits this far above the floor when standing


@dataclass
class MocapClip:
    name: str            # e.g. "dataset-2_walk_youthful_003"
    source: str          # "bandai1" | "bandai2" | "cmu" | "custom"
    joints: np.ndarray   # (T, 17, 3) float32, metres, world frame with Y up, H36M-17, at `fps`
    fps: float
    action: str          # in ACTION_VOCAB
    style: str           # in STYLE_VOCAB


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_mocap_root() -> Path:
    """`<repo>/../shared/data/mocap`, or `$DREAMPOSE3D_MOCAP`."""
    env = os.environ.get("DREAMPOSE3D_MOCAP")
    return Path(env) if env else (repo_root().parent / "shared" / "data" / "mocap").resolve()


def cache_dir() -> Path:
    """`~/.cache/dreampose3d/mocap-v1`, or `$DREAMPOSE3D_CACHE` (never inside the repository)."""
    env = os.environ.get("DREAMPOSE3D_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "dreampose3d" / CACHE_VERSION


# --- splits ------------------------------------------------------------------------------------

def is_test(name: str, source: str, style: str) -> bool:
    """The fixed test split (data README): set-2 `youthful`, set-1 `proud`, CMU subject 7."""
    if source == "bandai2":
        return style == "youthful"
    if source == "bandai1":
        return style == "proud"
    if source == "cmu":
        return name.startswith("cmu_007_")
    return False


def is_val(name: str) -> bool:
    """A deterministic ~5% of the non-test clips, by a hash of the name (stable across runs)."""
    return int(hashlib.md5(name.encode()).hexdigest()[:8], 16) % 100 < 5


def cmu_extra_name(rel: str) -> str:
    """The clip name of a cmu-extra file, from its path in that folder (a folder gives the prefix of
    its files' names): "asfamc/01/01_02.amc.gz" -> "cmux_asfamc_01_01_02"."""
    return "cmux_" + rel.removesuffix(".gz").rsplit(".", 1)[0].replace("/", "_")


def is_cross(name: str, source: str) -> bool:
    """Held out as the `cross` split (see CROSS_SOURCES): the cmu-extra files under CMU_EXTRA_CROSS."""
    return source == "cmu-extra" and name.startswith(tuple(cmu_extra_name(folder) for folder in CMU_EXTRA_CROSS))


def split_of(clip: MocapClip) -> str:
    if is_cross(clip.name, clip.source):
        return "cross"
    if clip.source == "cmu" and clip.name.startswith(CROSS_CMU_SUBJECTS):
        return "held"
    if is_test(clip.name, clip.source, clip.style):
        return "test"
    return "val" if is_val(clip.name) else "train"


# --- reading one file -------------------------------------------------------------------------

def source_files(source: str, root: Path) -> list[Path]:
    if source in ("bandai1", "bandai2"):
        folder = root / "bandai" / f"Bandai-Namco-Research-Motiondataset-{source[-1]}" / "data"
        return sorted(folder.glob("*.bvh.gz"))
    if source == "cmu":
        return sorted((root / "cmu").glob("*.bvh.gz"))
    if source == "custom":
        folder = root / "custom"
        return sorted([*folder.rglob("*.bvh"), *folder.rglob("*.bvh.gz")])
    if source == "cmu-extra":
        folder = root / "cmu-extra"
        return sorted([*folder.glob("asfamc/*/*.amc.gz"), *folder.glob("motion-prediction/*/*/*.txt.gz"),
                       *folder.glob("cgspeed/*.bvh.gz")])
    raise MocapError(f"Unknown mocap source {source!r}; expected one of {', '.join(SOURCES)}.")


def _y_up(joints: np.ndarray) -> np.ndarray:
    """Rotate (T, 17, 3) so the body's up direction (pelvis -> head) is +Y (Z-up files exist)."""
    up = np.median(joints[:, 10] - joints[:, ROOT], axis=0)
    axis = int(np.argmax(np.abs(up)))
    sign = np.sign(up[axis])
    x, y, z = joints[..., 0], joints[..., 1], joints[..., 2]
    if axis == 1:
        out = (x, y, z) if sign > 0 else (x, -y, -z)
    elif axis == 2:
        out = (x, z, -y) if sign > 0 else (x, -z, y)
    else:
        out = (-y, x, z) if sign > 0 else (y, -x, z)
    return np.stack(out, axis=-1)


def _ground_and_centre(joints: np.ndarray) -> np.ndarray:
    """Floor at y = 0 (ankles ~8 cm above it, robust to jumps), first-frame pelvis above x = z = 0."""
    lowest_ankle = joints[:, [LEFT_ANKLE, RIGHT_ANKLE], 1].min(axis=1)
    floor = np.percentile(lowest_ankle, 1.0) - ANKLE_HEIGHT
    out = joints.copy()
    out[..., 1] -= floor
    out[..., 0] -= joints[0, ROOT, 0]
    out[..., 2] -= joints[0, ROOT, 2]
    return out


def _resample(joints: np.ndarray, src_fps: float, fps: float) -> np.ndarray:
    """Linear interpolation of (T, 17, 3) from `src_fps` to `fps`."""
    t_src = np.arange(joints.shape[0]) / src_fps
    t_new = np.arange(0.0, t_src[-1] + 1e-9, 1.0 / fps)
    pos = np.searchsorted(t_src, t_new, side="right") - 1
    pos = np.clip(pos, 0, max(len(t_src) - 2, 0))
    if len(t_src) < 2:
        return joints[:1]
    a = ((t_new - t_src[pos]) * src_fps)[:, None, None]
    return (1 - a) * joints[pos] + a * joints[pos + 1]


def _frame_step(src_fps: float, fps: float) -> int | None:
    """Every k-th frame gives `fps` from `src_fps` when k is a whole number (120 -> 30: 4); None
    when it is not, and the clip must be resampled (`_resample`)."""
    step = src_fps / fps
    return int(round(step)) if abs(step - round(step)) < 0.01 and round(step) >= 1 else None


def clip_from_file(path: str | Path, source: str, fps: float = 30.0, cmu_index: dict | None = None,
                   mapping: str | Path | dict | None = None) -> MocapClip:
    """One BVH file -> `MocapClip` (FK, mapping to H36M-17, Y up, resampled, grounded)."""
    path = Path(path)
    bvh = read_bvh(path)
    src_fps = bvh.fps
    first = 1 if source == "cmu" and bvh.num_frames > 1 else 0   # CMU frame 0 may be a T-pose
    step = _frame_step(src_fps, fps)
    joints = to_h36m(bvh, resolve_mapping(bvh.names, mapping), slice(first, None, step))
    if step is None:
        joints = _resample(joints, src_fps, fps)
    joints = _ground_and_centre(_y_up(joints))
    stem = clip_stem(path)
    if source == "cmu":
        action, style = cmu_labels(path, cmu_index or {})
        name = f"cmu_{stem}"
    elif source in ("bandai1", "bandai2"):
        action, style = bandai_labels(path)
        name = stem
    else:
        action, style, name = "other", "other", stem
    return MocapClip(name, source, joints.astype(np.float32), float(fps), action, style)


def cmu_extra_clip(path: Path, root: Path, fps: float, index: dict[str, str]) -> MocapClip:
    """One cmu-extra file (ASF/AMC, motion-prediction exp-map, or cgspeed BVH) -> `MocapClip`, on its
    own skeleton (cgspeed's three through their built-in mappings, `maps/cgspeed_*.json`)."""
    from .asf_amc import read_amc_h36m
    from .expmap_cmu import read_expmap_h36m

    rel = path.relative_to(root / "cmu-extra").as_posix()
    if rel.endswith(".amc.gz"):
        joints, src_fps = read_amc_h36m(path.parent / f"{path.parent.name}.asf.gz", path)
    elif rel.endswith(".bvh.gz"):
        bvh = read_bvh(path)            # frame 0 is cgspeed's added T-pose (the folder's README)
        joints, src_fps = to_h36m(bvh, resolve_mapping(bvh.names), slice(1, None)), bvh.fps
    else:
        joints, src_fps = read_expmap_h36m(path)
    step = _frame_step(src_fps, fps)
    joints = joints[::step] if step is not None else _resample(joints, src_fps, fps)
    joints = _ground_and_centre(_y_up(joints))
    description = index.get(rel) or path.parent.name.replace("_", " ")   # motion-prediction: the action folder
    return MocapClip(cmu_extra_name(rel), "cmu-extra", joints.astype(np.float32), float(fps), cmu_action(description), "normal")


def read_cmu_extra_index(csv_path: Path) -> dict[str, str]:
    """cmu-extra's `index.csv`: file (relative path) -> CMU motion description."""
    import csv

    with open(csv_path, newline="", encoding="utf-8") as f:
        return {row["file"]: row.get("description", "") for row in csv.DictReader(f)}


def _worker(args) -> tuple[str, MocapClip | None, str]:
    path, source, fps, cmu_index, mapping, root = args
    try:
        if source == "cmu-extra":
            return str(path), cmu_extra_clip(path, root, fps, cmu_index), ""
        return str(path), clip_from_file(path, source, fps, cmu_index, mapping), ""
    except MocapError as exc:
        return str(path), None, str(exc)


def build_source(source: str, root: Path, fps: float = 30.0, limit: int | None = None,
                 workers: int = 2) -> list[MocapClip]:
    """Parse every file of one source (2 processes), printing progress to stderr."""
    files = source_files(source, root)[:limit]
    cmu_index = (read_cmu_index(root / "cmu" / "cmu_index.csv") if source == "cmu" else
                 read_cmu_extra_index(root / "cmu-extra" / "index.csv") if source == "cmu-extra" else None)
    mapping = root / "custom" / "mapping.json" if source == "custom" else None
    mapping = mapping if mapping is not None and mapping.exists() else None
    jobs = [(f, source, fps, cmu_index, mapping, root) for f in files]
    clips, t0 = [], time.time()
    results = (map(_worker, jobs) if workers <= 1 or len(jobs) < 8 else None)
    pool = None
    if results is None:
        pool = multiprocessing.get_context("fork").Pool(workers)
        results = pool.imap(_worker, jobs, chunksize=8)
    try:
        for i, (path, clip, error) in enumerate(results, 1):
            if clip is None:
                print(f"[mocap] skipped: {error}", file=sys.stderr)
            else:
                clips.append(clip)
            if i % 200 == 0 or i == len(jobs):
                print(f"[mocap] {source}: {i}/{len(jobs)} files, {time.time() - t0:.1f} s",
                      file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return clips


# --- cache -------------------------------------------------------------------------------------

def cache_path(source: str, root: Path, fps: float) -> Path:
    tag = hashlib.md5(str(Path(root).resolve()).encode()).hexdigest()[:8]
    return cache_dir() / f"{source}-{fps:g}fps-{tag}.npz"


def save_cache(path: Path, clips: list[MocapClip]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp,
             names=np.array([c.name for c in clips], dtype=str),
             lengths=np.array([len(c.joints) for c in clips], dtype=np.int64),
             joints=(np.concatenate([c.joints for c in clips]) if clips
                     else np.zeros((0, 17, 3), np.float32)),
             fps=np.array([c.fps for c in clips]), actions=np.array([c.action for c in clips], dtype=str),
             styles=np.array([c.style for c in clips], dtype=str))
    os.replace(tmp, path)


def load_cache(path: Path, source: str) -> list[MocapClip]:
    with np.load(path) as z:
        ends = np.cumsum(z["lengths"])
        joints = z["joints"]
        return [MocapClip(str(n), source, joints[e - l:e], float(f), str(a), str(s))
                for n, l, e, f, a, s in zip(z["names"], z["lengths"], ends, z["fps"], z["actions"],
                                            z["styles"])]


def load_clips(split: str, root=None, fps: float = 30.0, sources=DEFAULT_SOURCES,
               limit: int | None = None) -> list[MocapClip]:
    """Clips of one split ("train", "val", "test" or "all"), building the cache when missing.

    `limit` = the first N files per source (tests): read from the cache if it exists, else parsed
    directly without writing a cache. A cache is never refreshed on its own: after changing the
    data or the mapping code, run `prepare --rebuild` (or bump CACHE_VERSION).
    """
    if split not in SPLITS:
        raise MocapError(f"Unknown split {split!r}; expected one of {', '.join(SPLITS)}.")
    root = Path(root) if root is not None else default_mocap_root()
    if not root.is_dir():
        raise MocapError(f"Mocap folder {root} does not exist (set DREAMPOSE3D_MOCAP).")
    clips: list[MocapClip] = []
    for source in sources:
        path = cache_path(source, root, fps)
        if path.exists():
            got = load_cache(path, source)[:limit]
        elif limit is not None:
            got = build_source(source, root, fps, limit)
        else:
            t0 = time.time()
            got = build_source(source, root, fps)
            save_cache(path, got)
            print(f"[mocap] cached {len(got)} {source} clips in {time.time() - t0:.1f} s -> {path}",
                  file=sys.stderr, flush=True)
        clips.extend(got)
    return clips if split == "all" else [c for c in clips if split_of(c) == split]


# --- sampling ----------------------------------------------------------------------------------

# Bone groups for body-proportion scaling (indices into engine.skeleton.BONES, found by joint names).
HIP_WIDTH, LEGS, TORSO, NECK_HEAD, SHOULDER_WIDTH, ARMS = range(6)


def _bone_groups() -> np.ndarray:
    group_of = {"hip": HIP_WIDTH, "knee": LEGS, "ankle": LEGS, "spine": TORSO, "thorax": TORSO,
                "neck": NECK_HEAD, "head": NECK_HEAD, "shoulder": SHOULDER_WIDTH, "elbow": ARMS, "wrist": ARMS}
    out = []
    for _, child in BONES:
        word = JOINT_NAMES[child].split("_")[-1]
        out.append(group_of[word])
    return np.array(out)


BONE_GROUP = _bone_groups()   # each bone's group, in BONES order
GROUP_RANGE = np.array(       # per group, in the order of the names above
    [(0.85, 1.15), (0.88, 1.12), (0.88, 1.12), (0.85, 1.15), (0.85, 1.15), (0.88, 1.12)])
HEIGHT_RANGE = (0.8, 1.15)
LENGTH_CAP_S = 30.0           # clips longer than this are not picked more often than a 30 s one


def group_ranges(width_range: tuple[float, float] | None = None,
                 neck_head_range: tuple[float, float] | None = None) -> np.ndarray:
    """GROUP_RANGE, with the hip- and shoulder-width groups set to `width_range` and the neck-and-head
    group (thorax -> nose -> head top) to `neck_head_range` when given.

    The Bandai skeleton is narrow (hip joints 0.13 m apart, H36M about 0.26 m), so a train config
    may widen these two groups (`"width_range": [lo, hi]`) to meet real people's proportions. The
    derived joints of the head are defined differently by every dataset and detector (thorax to nose
    is 0.09-0.30 of the leg in real sets, 0.18 in ours), hence a range of their own."""
    ranges = GROUP_RANGE.copy()
    if width_range is not None:
        ranges[[HIP_WIDTH, SHOULDER_WIDTH]] = width_range
    if neck_head_range is not None:
        ranges[NECK_HEAD] = neck_head_range
    return ranges


def scale_bodies(x: np.ndarray, rng: np.random.Generator, ranges: np.ndarray = GROUP_RANGE) -> np.ndarray:
    """(B, N, 17, 3) world poses -> new body proportions per window (left = right), rebuilt along
    the H36M tree (child = parent + s * (child - parent), i.e. FK with scaled offsets), then the
    whole body and its path scaled by an overall height factor, feet kept on the floor.
    `ranges`: (6, 2) uniform ranges of the bone groups' factors (GROUP_RANGE or `group_ranges`)."""
    b = x.shape[0]
    group = rng.uniform(ranges[:, 0], ranges[:, 1], size=(b, len(ranges)))
    s = group[:, BONE_GROUP][:, None, :, None]                        # (B, 1, 16, 1)
    out = x.copy()
    for k, (p, c) in enumerate(BONES):                               # parents come first
        out[:, :, c] = out[:, :, p] + s[:, :, k] * (x[:, :, c] - x[:, :, p])
    height = rng.uniform(*HEIGHT_RANGE, size=(b, 1, 1, 1))
    out *= height
    ankles = [LEFT_ANKLE, RIGHT_ANKLE]
    floor_old = x[:, :, ankles, 1].min(axis=(1, 2)) * height[:, 0, 0, 0]
    floor_new = out[:, :, ankles, 1].min(axis=(1, 2))
    out[..., 1] += (floor_old - floor_new)[:, None, None]
    return out


def _name_seed(name: str) -> int:
    return int(hashlib.md5(name.encode()).hexdigest()[:8], 16)


class WindowSampler:
    """Random training windows from clips; see the module docstring and `sample`."""

    def __init__(self, clips, window: int = 81, noise: bool = True, scale_bones: bool = True,
                 flip: bool = True, seed: int = 0, width_range: tuple[float, float] | None = None,
                 neck_head_range: tuple[float, float] | None = None, cameras: str = "aimed",
                 joint_drop: float = 0.0, source_weights: dict[str, float] | None = None, limb_mix: float = 0.0):
        """`cameras`: "aimed" at the window's mean pelvis, or "anywhere" (cameras.random_cameras);
        `joint_drop`: share of windows that lose the face (detector_noise.drop_joint_groups);
        `source_weights`: a source's clips are drawn this many times as often (default 1);
        `limb_mix`: share of windows whose legs or arms move as another window's (engine.train.limb_mix;
        their action and style labels are IGNORE_LABEL).
        Evaluation (`windows_for_eval`) always uses aimed cameras and no extra dropout, so every
        model is measured on the same data."""
        if not clips:
            raise MocapError("WindowSampler needs at least one clip.")
        self.clips = list(clips)
        self.window, self.noise, self.scale_bones, self.flip = window, noise, scale_bones, flip
        self.cameras_anywhere, self.joint_drop = cameras == "anywhere", float(joint_drop)
        self.limb_mix = float(limb_mix)
        self.group_ranges = group_ranges(width_range, neck_head_range)
        self._rng = np.random.default_rng(seed)
        self._joints = np.concatenate([c.joints for c in self.clips]).astype(np.float32)
        self._lengths = np.array([len(c.joints) for c in self.clips])
        self._offsets = np.concatenate([[0], np.cumsum(self._lengths)[:-1]])
        caps = np.array([LENGTH_CAP_S * c.fps for c in self.clips])
        weight = np.minimum(self._lengths, caps) * np.array([(source_weights or {}).get(c.source, 1.0)
                                                             for c in self.clips])
        self._p = weight / weight.sum()
        self._action = np.array([ACTION_VOCAB.index(c.action) for c in self.clips], dtype=np.int64)
        self._style = np.array([STYLE_VOCAB.index(c.style) for c in self.clips], dtype=np.int64)

    def __len__(self) -> int:
        return int(self._lengths.sum())

    def _window_indices(self, clip_idx: np.ndarray, start: np.ndarray, n: int) -> np.ndarray:
        """(B,) clips + (B,) starts (may be negative) -> (B, n) rows of `_joints`, edges repeated."""
        frame = np.clip(start[:, None] + np.arange(n), 0, self._lengths[clip_idx][:, None] - 1)
        return frame + self._offsets[clip_idx][:, None]

    @staticmethod
    def _cameras(world: np.ndarray, rng: np.random.Generator, tries: int = 12, anywhere: bool = False):
        """One random camera per window that keeps every joint of the window in view; windows that
        fail `tries` times get a wide lens from far away (and, at worst, keep the last draw).

        Returns (camera params as float32 arrays, camera-frame joints, pixels)."""
        target = world[:, :, ROOT].mean(axis=1)
        radius = np.sqrt(((world - target[:, None, None]) ** 2).sum(-1).max(axis=(1, 2)))
        params = cams.random_cameras(rng, target, radius, anywhere)
        p_cam = np.empty_like(world)
        pix = np.empty(world.shape[:-1] + (2,), dtype=world.dtype)
        todo = np.arange(world.shape[0])
        for attempt in range(tries + 1):
            sub = {k: v[todo].astype(world.dtype) for k, v in params.items()}
            p_cam[todo] = cams.world_to_camera(sub["rotation"], sub["centre"], world[todo])
            pix[todo] = cams.project(p_cam[todo], sub["focal_px"], sub["width"], sub["height"])
            ok = cams.in_view(pix[todo], p_cam[todo][..., 2], sub["width"], sub["height"])
            todo = todo[~ok]
            if todo.size == 0 or attempt == tries:
                break
            new = cams.random_cameras(rng, target[todo], radius[todo], anywhere)
            if attempt >= tries - 3:      # last resort: far and wide
                new["focal_px"] = (cams.FOCAL_35MM[0] / cams.DIAGONAL_35MM
                                   * np.hypot(new["width"], new["height"]))
                new["rotation"] = cams.look_at(new["centre"], target[todo], np.zeros(len(todo)))
            for key in params:
                params[key][todo] = new[key]
        return {k: v.astype(np.float32) for k, v in params.items()}, p_cam, pix

    def _render(self, world: np.ndarray, rng: np.random.Generator, noise: bool, training: bool = False,
                anywhere: bool | None = None) -> dict:
        """(B, N, 17, 3) world windows -> the batch dict (no flip); `training` applies the sampler's
        camera and dropout options (evaluation does not); `anywhere` overrides the camera rule."""
        if anywhere is None:
            anywhere = training and self.cameras_anywhere
        params, p_cam, pix = self._cameras(world.astype(np.float32), rng, anywhere=anywhere)
        w = params["width"][:, None, None]
        h = params["height"][:, None, None]
        clean = normalise_screen(pix, w, h)
        if noise:
            noisy, scores = add_detector_noise(clean, rng)
        else:
            noisy, scores = clean.copy(), np.ones(clean.shape[:-1], dtype=np.float32)
        if training:
            noisy, scores = drop_joint_groups(noisy, scores, rng, self.joint_drop)
        root = p_cam[:, :, ROOT]
        return {
            "keypoints2d": noisy,
            "keypoints2d_clean": clean,
            "scores": scores,
            "joints3d": p_cam - root[:, :, None],
            "root": root,
            "focal": params["focal_px"] / params["width"] * np.float32(2.0),
            "image_size": np.stack([params["width"], params["height"]], axis=1).astype(np.int64),
            "_camera": params,
        }

    def sample(self, batch_size: int, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """A batch of `batch_size` windows of `window` frames (see the API in the module's tests).

        Keys: keypoints2d, keypoints2d_clean (B, N, 17, 2); scores (B, N, 17); joints3d (B, N, 17, 3)
        camera frame, root-relative; root (B, N, 3); focal (B,) screen-normalised; action, style (B,)
        int64; image_size (B, 2) int64 (width, height) for reference.
        """
        rng = rng if rng is not None else self._rng
        ci, world = self._draw_windows(batch_size, rng)
        action, style = self._action[ci], self._style[ci]
        if self.limb_mix > 0:
            mixed = rng.random(batch_size) < self.limb_mix
            world = mix_batch(world, self._draw_windows(batch_size, rng)[1], mixed, rng)
            action, style = np.where(mixed, IGNORE_LABEL, action), np.where(mixed, IGNORE_LABEL, style)
        if self.scale_bones:
            world = scale_bodies(world, rng, self.group_ranges)
        batch = self._render(world, rng, self.noise, training=True)
        batch.pop("_camera")
        batch["action"], batch["style"] = action, style
        if self.flip:
            flipped = rng.random(batch_size) < 0.5
            batch = flip_batch(batch, flipped)
            mirrored = np.asarray(MIRRORED_ACTION_INDEX)[np.maximum(action, 0)]
            batch["action"] = np.where(flipped & (action >= 0), mirrored, action)
        return batch

    def _draw_windows(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(B,) clip indices drawn by the sampler's weights, (B, window, 17, 3) their world windows."""
        n = self.window
        ci = rng.choice(len(self.clips), size=batch_size, p=self._p)
        length = self._lengths[ci]
        lo, hi = np.minimum(0, length - n), np.maximum(0, length - n)
        start = lo + (rng.random(batch_size) * (hi - lo + 1)).astype(np.int64)
        return ci, self._joints[self._window_indices(ci, start, n)]

    def windows_for_eval(self, clip: MocapClip, stride: int | None = None, cameras: str = "aimed") -> dict:
        """Deterministic evaluation data for one clip: one fixed camera seeded by the clip's name,
        no body scaling, no flip; noisy 2D seeded the same way when `noise`. `cameras="anywhere"`:
        that camera is drawn like real footage's (cameras.random_cameras(anywhere=True)): the
        person off-centre, often filling the frame.

        stride=None: full-clip arrays keypoints2d, keypoints2d_clean (T, 17, 2), scores (T, 17),
        joints3d (T, 17, 3), root (T, 3), plus focal, image_size, action, style and `camera`
        (a `cameras.Camera`). stride=k: the same arrays cut into windows of `window` frames
        starting every k frames ((K, N, ...), the last window edge-padded) plus `starts` (K,).
        """
        rng = np.random.default_rng(_name_seed(clip.name))
        world = np.asarray(clip.joints, dtype=np.float64)[None]
        batch = self._render(world, rng, self.noise, anywhere=cameras == "anywhere")
        params = batch.pop("_camera")
        out = {k: v[0] for k, v in batch.items()}
        out["camera"] = cams.camera(params, 0)
        out["action"] = np.int64(ACTION_VOCAB.index(clip.action))
        out["style"] = np.int64(STYLE_VOCAB.index(clip.style))
        if stride is None:
            return out
        t = len(clip.joints)
        starts = np.asarray(window_starts(t, self.window, self.window - stride), dtype=np.int64)
        frame = np.clip(starts[:, None] + np.arange(self.window), 0, t - 1)
        for key in ("keypoints2d", "keypoints2d_clean", "scores", "joints3d", "root"):
            out[key] = out[key][frame]
        out["starts"] = starts
        return out
