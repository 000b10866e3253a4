"""Acclaim ASF/AMC reader (the original CMU mocap format) and forward kinematics (numpy, over frames).

Conventions (those of the CMU mocap viewer, Lin/Safonova/Bhat/Barbic's `skeleton.cpp`; column
vectors, `R @ v`):
- Units: ASF `:units length L` means 1 unit = 1/L inch (CMU: L = 0.45, 1 unit = 5.644 cm), so
  metres = units * 0.0254 / L. `angle deg|rad` and the AMC `:DEGREES`/`:RADIANS` give the angle unit.
- World frame: the ASF's own. CMU subjects stand Y up, facing +Z, their left on +X.
- A bone's `axis ax ay az XYZ` gives C, the rotation from the bone's local frame to the world at
  rest: the listed axes in order, the first applied first (XYZ -> C = Rz(az) Ry(ay) Rx(ax)).
- The AMC dofs rotate about the bone's local axes, in the order the `dof` line lists them, the first
  applied first (CMU always lists `rx ry rz` -> M = Rz Ry Rx); a dof the bone lacks is 0.
- Local rotation, expressed in world-at-rest axes: L = C M C^-1 (the Acclaim manual writes the same
  thing for row vectors as `C^-1 M C`). World rotation of a bone: R = R_parent L.
- Joint positions: the root is at the AMC root translation (TX TY TZ, replacing the ASF `position`);
  a bone starts where its parent ends and ends at start + R (direction * length), `direction` being
  the rest direction in world axes (normalised). So at rest every bone lies along its ASF direction.
- Root: C from `orientation` in the `axis` order, M from the RX/RY/RZ channels in the `order` line's
  order (CMU: `RX RY RZ` -> Rz Ry Rx, as the CMU viewer does). The Li et al. 2018 exp-map files
  encode the root as Rz Rx Ry instead (see `expmap_cmu.py`). On each of the 12 cmu-extra trials
  Rz Ry Rx puts both ankles on the floor in more frames (01_13: 28% against 0%) and mostly keeps
  the hips more level, so this reader keeps the CMU viewer's order.

Joints of the FK: `root` plus `<bone>_end`, the end point of every bone (e.g. `lfemur_end` is the
left knee, `lhipjoint_end` the left hip joint). A *virtual site* `[bone, offset]` is the point
`start(bone) + R_bone @ offset`, the offset in world-at-rest axes and ASF units (e.g. the nose, in
front of the head bone): a point fixed in a bone like the BVH mappings' sites, but with rest-pose
axes, and the same meaning as `expmap_cmu.py`'s.

H36M-17: `read_amc_h36m` applies `maps/cmu_asf.json` (affine joint combinations, see
`skeleton_maps.py`), keeping the subject's own proportions. Every failure raises `MocapError` with
one sentence naming the file.
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bvh import MocapError
from .skeleton_maps import MAPS_DIR, load_mapping, mapping_matrix

CMU_FPS = 120.0                   # CMU's capture rate for almost every trial; AMC files store none
INCH = 0.0254
_AXIS = {"x": 0, "y": 1, "z": 2}
_ROOT_CHANNELS = ("TX", "TY", "TZ", "RX", "RY", "RZ")


@dataclass
class AsfBone:
    id: int
    name: str
    direction: np.ndarray         # (3,) rest direction in world axes, normalised
    length: float                 # ASF units
    axis: np.ndarray              # (3,) angles of C, in the ASF's angle unit
    axis_order: str               # e.g. "XYZ": the first letter is applied first
    dof: list[str]                # e.g. ["rx", "ry", "rz"], the AMC channel order
    limits: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Asf:
    path: str
    units: dict[str, str]         # e.g. {"mass": "1.0", "length": "0.45", "angle": "deg"}
    root_order: list[str]         # AMC root channels, e.g. ["TX", "TY", "TZ", "RX", "RY", "RZ"]
    root_axis: str                # "XYZ"
    root_position: np.ndarray     # (3,) ASF units
    root_orientation: np.ndarray  # (3,) angles
    bones: dict[str, AsfBone]     # in file order
    parent: dict[str, str]        # bone -> parent bone or "root"
    order: list[str]              # bones, parents before children (hierarchy order)

    @property
    def metres_per_unit(self) -> float:
        return INCH / float(self.units.get("length", 1.0))

    @property
    def degrees(self) -> bool:
        return self.units.get("angle", "deg").lower().startswith("deg")

    def joint_names(self) -> list[str]:
        return ["root"] + [f"{b}_end" for b in self.order]


@dataclass
class Amc:
    path: str
    values: dict[str, np.ndarray]  # bone (or "root") -> (T, channels) in file units / angle unit
    degrees: bool

    @property
    def num_frames(self) -> int:
        return int(next(iter(self.values.values())).shape[0])


def read_text(path: Path, kind: str) -> str:
    """A text or .gz file's content; `MocapError` when it cannot be read (also truncated gzip)."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
                return f.read()
        return path.read_text(encoding="utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise MocapError(f"Cannot read {kind} file {path}: {exc}.") from exc


def parse_floats(text: str, sep: str = " ") -> np.ndarray:
    """All numbers of a text in one C call; stops (quietly) at the first non-number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.fromstring(text, dtype=np.float64, sep=sep)  # noqa: NPY201 - text mode, fast


def _lines(text: str) -> list[str]:
    """Stripped, non-empty lines without `#` comments (fairmotion adds a copyright comment)."""
    return [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]


# --- ASF --------------------------------------------------------------------------------------

def read_asf(path: str | Path) -> Asf:
    """Parse an .asf / .asf.gz skeleton; raises `MocapError` for anything malformed."""
    path = Path(path)
    try:
        return _parse_asf(_lines(read_text(path, "ASF")), path)
    except (ValueError, IndexError, KeyError) as exc:
        raise MocapError(f"ASF file {path} is malformed ({exc}).") from None


def _parse_asf(lines: list[str], path: Path) -> Asf:
    units: dict[str, str] = {}
    root = {"order": list(_ROOT_CHANNELS), "axis": "XYZ", "position": [0.0] * 3, "orientation": [0.0] * 3}
    blocks: list[dict] = []
    edges: list[tuple[str, str]] = []
    section, block, last_key = "", None, ""
    for line in lines:
        tok = line.split()
        if line.startswith(":"):
            section = tok[0][1:].lower()
            continue
        if section == "units":
            units[tok[0].lower()] = tok[1]
        elif section == "root":
            key = tok[0].lower()
            if key == "order":
                root["order"] = [t.upper() for t in tok[1:]]
            elif key == "axis":
                root["axis"] = tok[1].upper()
            elif key in ("position", "orientation"):
                root[key] = [float(t) for t in tok[1:4]]
        elif section == "bonedata":
            if tok[0] == "begin":
                block, last_key = {"limits": []}, ""
                blocks.append(block)
            elif tok[0] == "end":
                block = None
            elif block is None:
                raise ValueError(f"{tok[0]!r} outside a begin/end bone block")
            elif tok[0] == "limits" or (tok[0].startswith("(") and last_key == "limits"):
                nums = line.replace("limits", " ").replace("(", " ").replace(")", " ").split()
                block["limits"].extend(float(t) for t in nums)
                last_key = "limits"
            else:
                block[tok[0].lower()], last_key = tok[1:], tok[0].lower()
        elif section == "hierarchy" and tok[0] not in ("begin", "end"):
            edges.extend((tok[0], child) for child in tok[1:])

    if not blocks:
        raise MocapError(f"ASF file {path} has no :bonedata bones.")
    bones: dict[str, AsfBone] = {}
    for k, b in enumerate(blocks):
        missing = [key for key in ("name", "direction", "length") if key not in b]
        if missing:
            raise MocapError(f"ASF file {path}: bone block {k + 1} lacks {', '.join(missing)}.")
        name = b["name"][0]
        if name in bones or name == "root":
            raise MocapError(f"ASF file {path} defines bone {name!r} twice.")
        axis = b.get("axis", ["0", "0", "0", "XYZ"])
        dof = [d.lower() for d in b.get("dof", [])]
        bad = [d for d in dof if d not in ("rx", "ry", "rz")]
        if bad:
            raise MocapError(f"ASF file {path}: bone {name!r} has dof {bad[0]!r}; only rx, ry, rz are supported.")
        lim = b["limits"]
        bones[name] = AsfBone(int(b.get("id", [k + 1])[0]), name, np.array([float(t) for t in b["direction"][:3]]),
                              float(b["length"][0]), np.array([float(t) for t in axis[:3]]),
                              _check_order(axis[3] if len(axis) > 3 else "XYZ", path, name), dof,
                              list(zip(lim[0::2], lim[1::2])))
        norm = np.linalg.norm(bones[name].direction)
        if bones[name].direction.shape != (3,) or not norm > 0:
            raise ValueError(f"bone {name!r} needs a non-zero 3-number direction")
        bones[name].direction /= norm     # a unit vector up to rounding in the file (1e-6 in CMU's)
    if sorted(root["order"]) != sorted(set(root["order"])) or set(root["order"]) - set(_ROOT_CHANNELS):
        raise MocapError(f"ASF file {path} has a bad root order {' '.join(root['order'])!r}.")

    parent: dict[str, str] = {}
    for p, c in edges:
        for n in (p, c):
            if n != "root" and n not in bones:
                raise MocapError(f"ASF file {path}: the hierarchy names bone {n!r}, which :bonedata lacks.")
        if c in parent or c == "root":
            raise MocapError(f"ASF file {path}: bone {c!r} has two parents in the hierarchy.")
        parent[c] = p
    order, frontier = [], ["root"]
    while frontier:                        # breadth-first from the root: parents come first
        children = [c for p in frontier for c, pp in parent.items() if pp == p]
        order.extend(children)
        frontier = children
    lost = [b for b in bones if b not in order]
    if lost:
        raise MocapError(f"ASF file {path}: bone {lost[0]!r} is not connected to the root in :hierarchy.")
    length = float(units.get("length", 1.0))
    if not length > 0:
        raise MocapError(f"ASF file {path} has a non-positive ':units length' ({length}).")
    return Asf(str(path), units, root["order"], _check_order(root["axis"], path, "root"),
               np.array(root["position"]), np.array(root["orientation"]), bones, parent, order)


def _check_order(order: str, path: Path, bone: str) -> str:
    if sorted(order.upper()) != ["X", "Y", "Z"]:
        raise MocapError(f"ASF file {path}: bone {bone!r} has a bad axis order {order!r}.")
    return order.upper()


# --- AMC --------------------------------------------------------------------------------------

def read_amc(path: str | Path, asf: Asf) -> Amc:
    """Parse an .amc / .amc.gz motion for `asf`: per bone, (T, channels) values.

    Every frame must list the same bones as the first one (`:FULLY-SPECIFIED`), each with as many
    values as the ASF gives it channels; ASF bones with dofs that the file never lists stay at 0.
    """
    path = Path(path)
    lines = _lines(read_text(path, "AMC"))
    degrees = True
    i = 0
    while i < len(lines) and lines[i].startswith(":"):
        degrees = degrees and lines[i].upper() != ":RADIANS"
        i += 1
    channels = {"root": len(asf.root_order), **{n: len(b.dof) for n, b in asf.bones.items()}}
    rows: dict[str, list[str]] = {}
    frame_sizes: list[int] = []
    for line in lines[i:]:
        head, *rest = line.split(None, 1)
        if head.isdigit():
            frame_sizes.append(0)
            continue
        if not frame_sizes:
            raise MocapError(f"AMC file {path} has bone data before its first frame number.")
        if head not in channels:
            raise MocapError(f"AMC file {path} frame {len(frame_sizes)} names bone {head!r}, "
                             f"which {Path(asf.path).name} lacks.")
        rows.setdefault(head, []).append(rest[0] if rest else "")
        frame_sizes[-1] += 1
    if not frame_sizes or not rows:
        raise MocapError(f"AMC file {path} has no motion frames.")
    n_frames, per_frame = len(frame_sizes), frame_sizes[0]
    short = [k for k, n in enumerate(frame_sizes) if n != per_frame]
    if short:
        k = short[0]
        what = "is truncated: its last frame" if k == n_frames - 1 else f"frame {k + 1}"
        raise MocapError(f"AMC file {path} {what} lists {frame_sizes[k]} bones, not the {per_frame} of frame 1.")
    values = {}
    for bone, texts in rows.items():
        arr = parse_floats(" ".join(texts))   # stops at a non-number: caught by the size check
        if len(texts) != n_frames or arr.size != n_frames * channels[bone] or not np.isfinite(arr).all():
            raise MocapError(f"AMC file {path} is truncated or malformed: bone {bone!r} has {arr.size} values "
                             f"in {len(texts)} lines for {n_frames} frames of {channels[bone]} channels.")
        values[bone] = arr.reshape(n_frames, channels[bone])
    if "root" not in values:
        raise MocapError(f"AMC file {path} has no root lines.")
    return Amc(str(path), values, degrees)


# --- forward kinematics -----------------------------------------------------------------------

def axis_rotations(axis: int, radians: np.ndarray) -> np.ndarray:
    """(...) angles -> (..., 3, 3) right-handed rotations about x (0), y (1) or z (2)."""
    c, s = np.cos(radians), np.sin(radians)
    r = np.zeros(np.shape(radians) + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    r[..., axis, axis] = 1.0
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


def euler(radians: np.ndarray, order: str) -> np.ndarray:
    """(..., 3) angles, one per letter of `order` (e.g. "xyz"), the first applied first -> (..., 3, 3)."""
    r = np.broadcast_to(np.eye(3), np.shape(radians)[:-1] + (3, 3))
    for k, letter in enumerate(order.lower()):
        r = axis_rotations(_AXIS[letter], radians[..., k]) @ r
    return r


@dataclass
class Pose:
    """FK result in source units: named points, plus each bone's start and world rotation (the frame
    virtual sites hang from)."""

    names: list[str]
    positions: np.ndarray                            # (T, J, 3)
    frames: dict[str, tuple[np.ndarray, np.ndarray]]  # bone -> (start (T, 3), rotation (T, 3, 3))
    metres_per_unit: float


def pose(asf: Asf, amc: Amc, frames: slice | np.ndarray | None = None) -> Pose:
    """World positions of `asf.joint_names()` for every (selected) frame, in ASF units."""
    sel = slice(None) if frames is None else frames
    to_rad = np.pi / 180.0
    angle = to_rad if amc.degrees else 1.0
    motion = {b: v[sel] * angle for b, v in amc.values.items() if b != "root"}
    root = amc.values["root"][sel]
    t = root.shape[0]
    axis_scale = to_rad if asf.degrees else 1.0

    pos = np.broadcast_to(asf.root_position, (t, 3)).copy()
    rot_order, rot_values = "", []
    for k, ch in enumerate(asf.root_order):
        if ch[0] == "T":
            pos[:, _AXIS[ch[1].lower()]] = root[:, k]
        else:
            rot_order += ch[1]
            rot_values.append(root[:, k] * angle)
    c = euler(asf.root_orientation * axis_scale, asf.root_axis)
    m = euler(np.stack(rot_values, -1), rot_order) if rot_order else np.eye(3)
    world = {"root": c @ m @ c.T}
    end = {"root": pos}
    frames = {"root": (pos, world["root"])}
    for name in asf.order:
        bone = asf.bones[name]
        c = euler(bone.axis * axis_scale, bone.axis_order)
        p = asf.parent[name]
        local = np.eye(3)
        if bone.dof and name in motion:
            local = c @ euler(motion[name], "".join(d[1] for d in bone.dof)) @ c.T
        world[name] = world[p] @ local
        end[name] = end[p] + world[name] @ (bone.direction * bone.length)
        frames[name] = (end[p], world[name])
    positions = np.stack([end["root"]] + [end[b] for b in asf.order], axis=1)
    return Pose(asf.joint_names(), positions, frames, asf.metres_per_unit)


def forward_kinematics(asf: Asf, amc: Amc, frames=None) -> tuple[list[str], np.ndarray]:
    """(names, (T, J, 3) world positions in metres): the root and every bone's end point."""
    p = pose(asf, amc, frames)
    return p.names, p.positions * p.metres_per_unit


# --- H36M-17 ----------------------------------------------------------------------------------

def apply_mapping(mapping: dict, p: Pose, path: str, kind: str) -> np.ndarray:
    """A `skeleton_maps` mapping applied to FK points: (T, 17, 3) in metres.

    Virtual sites `[bone, offset]` are `start + R @ offset` (source units, world-at-rest axes);
    `scale` null means the file's own unit (`p.metres_per_unit`)."""
    names, pos = list(p.names), [p.positions]
    for site, (bone, offset) in mapping.get("virtual_sites", {}).items():
        if bone not in p.frames:
            raise MocapError(f"{kind} file {path} has no bone {bone!r} for the virtual site {site!r}.")
        start, rot = p.frames[bone]
        pos.append((start + rot @ np.asarray(offset, dtype=np.float64))[:, None])
        names.append(site)
    wanted = {src for spec in mapping["joints"].values() for src in spec}
    absent = sorted(wanted - set(names))
    if absent:
        raise MocapError(f"{kind} file {path} has no joint {absent[0]!r}, which its H36M mapping needs.")
    w = mapping_matrix(mapping, names, path)
    joints = np.einsum("kj,tjd->tkd", w, np.concatenate(pos, axis=1))
    return joints * float(mapping.get("scale") or p.metres_per_unit)


def read_amc_h36m(asf: str | Path | Asf, amc_path: str | Path, fps: float = CMU_FPS,
                  mapping: str | Path | dict | None = None) -> tuple[np.ndarray, float]:
    """ASF + AMC -> (H36M-17 world joints (T, 17, 3) float64, metres, Y up; fps).

    AMC files store no rate: `fps` defaults to CMU's 120. `asf` may be parsed once and reused for
    every trial of a subject. `mapping` defaults to `maps/cmu_asf.json`."""
    skeleton = asf if isinstance(asf, Asf) else read_asf(asf)
    motion = read_amc(amc_path, skeleton)
    if mapping is None or not isinstance(mapping, dict):
        mapping = load_mapping(mapping or MAPS_DIR / "cmu_asf.json")
    return apply_mapping(mapping, pose(skeleton, motion), str(amc_path), "AMC"), float(fps)
