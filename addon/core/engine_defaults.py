"""The engine's options the add-on offers, in the one place the add-on keeps them.

The add-on cannot import the engine (it runs in another Python, with torch), so it keeps a copy
of the few engine facts its UI and `batch.py` need: the preset names (`engine/lifter.py` PRESETS),
the default preset (`engine lift --preset`), and the smoothing methods and defaults
(`engine/smoothing.py` METHODS, DEFAULT_METHOD, BUTTERWORTH_HZ). `properties`, `preferences` and
`batch.py` read them from here, and `tests/addon/test_addon_structure.py` checks them against the
engine's own, so a change in the engine that is not made here fails a test.

Items are Blender-style (identifier, label, description) tuples, but plain data: no bpy here.
"""

from __future__ import annotations

PRESETS = (
    ("fast", "Fast", "One sample and its mirror image, averaged"),
    ("quality", "Quality", "The mean of 5 samples and their mirror images: smoother, about 5 times slower"),
)
PRESET_NAMES = tuple(p[0] for p in PRESETS)
DEFAULT_PRESET = "fast"

SMOOTHING = (
    ("none", "None", "No smoothing"),
    ("one-euro", "One-euro", "One-euro filter (done in the engine)"),
    ("butterworth", "Butterworth", "Zero-phase Butterworth low-pass at the given cut-off (done in the engine)"),
)
SMOOTHING_METHODS = tuple(s[0] for s in SMOOTHING)
DEFAULT_SMOOTHING = "butterworth"
BUTTERWORTH_HZ = 4.0

# `engine lift --format` (engine/readers FORMATS), for the panel's Format menu. A video file needs
# no format: "auto" sends it to the engine's detector.
FORMATS = (
    ("auto", "Auto", "Let the engine detect the format (and run the detector on a video)"),
    ("openpose", "OpenPose", "OpenPose --write_json folder or file (BODY_25, BODY_25B, COCO-18)"),
    ("coco-json", "COCO JSON", "COCO-style results (MMPose, RTMPose, ViTPose, Detectron2)"),
    ("alphapose", "AlphaPose", "AlphaPose results (COCO-17, HALPE-26)"),
    ("mmpose", "MMPose", "MMPose prediction JSON"),
    ("mediapipe-json", "MediaPipe JSON", "MediaPipe Pose 33-landmark JSON"),
    ("mediapipe-csv", "MediaPipe CSV", "MediaPipe Pose CSV"),
    ("vp3d-custom", "VideoPose3D custom", "VideoPose3D custom 2D dataset .npz (several videos)"),
    ("detectron2-npz", "Detectron2 npz", "VideoPose3D's infer_video_d2 .npz"),
    ("dlc", "DeepLabCut", "DeepLabCut CSV or H5, with a body-part mapping file"),
    ("keypoints-npz", "Keypoints npz", "The engine's canonical keypoints .npz"),
    ("trc", "TRC (3D)", "3D markers: no lifting"),
    ("result-npz", "Result npz (3D)", "An engine result: no lifting"),
)
FORMAT_NAMES = tuple(f[0] for f in FORMATS)
