"""`python -m engine detect VIDEO -o keypoints.npz`: a video's 2D keypoints in the canonical file.

The detector is MediaPipe Pose (engine.detector); the person choice and the MediaPipe-33 ->
H36M-17 conversion are the readers' (engine.readers.assemble), the same as for a MediaPipe dump.
The file holds the frames as detected: a frame without the chosen person has score 0 on every
joint (missing), not an interpolation; `lift` fills short gaps when it reads the file, as it does
for every keypoint file. Image size and fps come from the video. Output events are JSON lines like
`lift`'s: "start", "progress" (stage "detecting", done/total frames), "done" after the file is in
place; a failure or cancel writes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import limits


def add_parser(sub, add_detector_flags) -> None:
    from .cli import _ranged

    p = sub.add_parser("detect", help="detect 2D keypoints in a video (MediaPipe Pose) and write the canonical keypoints .npz")
    p.add_argument("input", help="video file (mp4, mov, mkv, webm, avi, ...)")
    p.add_argument("-o", "--output", required=True, help="keypoints .npz, or a folder for <video name>.npz")
    p.add_argument("--person", default=None, help="identity to keep when MediaPipe's tracker followed several "
                   "people (ids from the output's meta 'people_tracked'; default: the most visible)")
    p.add_argument("--fps", type=_ranged(*limits.FPS_RANGE, whole=False, unit=" fps"), default=None,
                   help="frame rate, when the video does not state it")
    p.add_argument("--max-frames", type=_ranged(1, None), default=limits.MAX_FRAMES,
                   help=f"refuse videos longer than this many frames (default {limits.MAX_FRAMES:,})")
    add_detector_flags(p)
    p.set_defaults(func=cmd_detect)


def cmd_detect(args) -> int:
    from . import video
    from .cli import emit, log
    from .detector import detect_video
    from .outputs import Publisher, output_paths
    from .readers import assemble, detect_format
    from .readers._io import fail

    inp = args.input
    with Publisher([inp], output_paths([inp], args.output)) as publisher:
        if detect_format(inp) != "video":
            raise fail(inp, f"is not a video file; detect reads videos ({', '.join(s.lstrip('.') for s in video.VIDEO_SUFFIXES[:6])}, ...)")
        info = video.probe(inp)
        limits.clip_frames(info.frames, Path(inp).name, args.max_frames)
        emit("start", input=inp, frames=info.frames, fps=info.fps, image_size=list(info.image_size))
        t0 = time.perf_counter()
        det = detect_video(inp, args.detector_model, args.detector_weights,
                           lambda d, n: emit("progress", stage="detecting", input=inp, done=d, total=n), args.max_frames)
        d = det.meta["detector"]
        log(f"detected with {d['name']} {d['version']}, model {d['model']} (complexity {d['model_complexity']}): "
            f"a pose in {det.meta['frames_with_pose']} of {det.num_frames} frames")
        seq = assemble.to_sequence(det, person=args.person, fps=args.fps, max_gap=0)
        missing = int((seq.scores <= 0).all(axis=1).sum())
        seq.meta["warnings"] = [w for w in seq.meta.get("warnings", []) if "longer than 0 frames" not in w]
        seq.meta["people_tracked"] = assemble.people(det)
        if missing:
            seq.meta["warnings"].append(f"{missing} frame(s) without the chosen person are marked missing (score 0)")
        for w in seq.meta["warnings"]:
            log(f"warning: {Path(inp).name}: {w}")
        out = publisher.outputs[0]
        publisher.stage(seq, out)
        publisher.publish()
    emit("done", input=inp, output=str(out), frames=seq.num_frames, frames_with_person=seq.num_frames - missing,
         person=seq.meta.get("person"), model=d["model"], seconds=round(time.perf_counter() - t0, 3))
    return 0
