"""The video behind a lift, in the scene: a movie clip as the camera's background, lined up with
the animation's frames, and a camera that matches the lift's projection so the rig stands over
the person (`apply.apply_result` calls `add` last, for results lifted from a video).

- The clip starts at the animation's first frame (`clip.frame_start`), so scene frame
  `frame_start + i` shows video frame i, the frame result frame i was lifted from.
- The camera is the engine's fit (core.footage): its centre, axes and 60-degree horizontal field of
  view, with the render resolution set to the video's size so the frame has the video's aspect.
  It is made once per video and updated by a later lift of the same video (custom property
  `KEY` holds the video's path); it becomes the scene camera. It lines up with the generated rig
  when Root motion is on (off, the rig stays at the origin while the person moves in the image).
- Without the matching camera, the background goes on the scene's own camera, if it has one.

A failure here puts back what this step changed (`Undo`), so `apply_result` stays all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bpy
from mathutils import Matrix

from ..core import footage as core_footage

KEY = "dreampose3d_footage"      # custom property on the cameras this module made: the video's path


@dataclass
class Added:
    camera: object = None        # the camera object with the background (or the matched one)
    clip: object = None          # the movie clip
    note: str = ""               # one sentence when something could not be done (video moved, no camera)
    info: object = None          # core.footage.Footage


@dataclass
class Undo:
    """What `add` may change, taken before it does."""

    scene: object
    objects: set = field(default_factory=set)
    cameras: set = field(default_factory=set)
    clips: set = field(default_factory=set)
    scene_camera: object = None
    resolution: tuple = ()
    backgrounds: dict = field(default_factory=dict)   # camera data name -> (show, count)

    @classmethod
    def take(cls, scene) -> "Undo":
        r = scene.render
        return cls(scene, set(bpy.data.objects), set(bpy.data.cameras), set(bpy.data.movieclips), scene.camera,
                   (r.resolution_x, r.resolution_y, r.resolution_percentage, r.pixel_aspect_x, r.pixel_aspect_y),
                   {c.name: (c.show_background_images, len(c.background_images)) for c in bpy.data.cameras})

    def restore(self) -> None:
        s, r = self.scene, self.scene.render
        s.camera = self.scene_camera if self.scene_camera in set(bpy.data.objects) else None
        (r.resolution_x, r.resolution_y, r.resolution_percentage, r.pixel_aspect_x, r.pixel_aspect_y) = self.resolution
        for ob in [o for o in bpy.data.objects if o not in self.objects]:
            bpy.data.objects.remove(ob)
        for cam in [c for c in bpy.data.cameras if c not in self.cameras]:
            bpy.data.cameras.remove(cam)
        for cam in bpy.data.cameras:
            show, count = self.backgrounds.get(cam.name, (cam.show_background_images, len(cam.background_images)))
            while len(cam.background_images) > count:
                cam.background_images.remove(cam.background_images[-1])
            cam.show_background_images = show
        for clip in [c for c in bpy.data.movieclips if c not in self.clips]:
            bpy.data.movieclips.remove(clip)


def _find_camera(path: str):
    for ob in bpy.data.objects:
        if ob.type == "CAMERA" and ob.get(KEY) == path:
            return ob
    return None


def matching_camera(scene, info: core_footage.Footage, collection=None):
    """The camera of the lift (made, or the one made before for the same video, updated)."""
    cam_info = info.camera
    obj = _find_camera(str(info.video))
    if obj is None:
        data = bpy.data.cameras.new(f"{info.video.stem} camera")
        obj = bpy.data.objects.new(data.name, data)
        (collection or scene.collection).objects.link(obj)
        obj[KEY] = str(info.video)
    data = obj.data
    data.type = "PERSP"
    data.sensor_fit = "HORIZONTAL"
    data.angle_x = cam_info.horizontal_fov
    data.shift_x = data.shift_y = 0.0
    data.clip_start, data.clip_end = 0.05, 500.0
    obj.matrix_world = Matrix([list(row) for row in cam_info.matrix_world])
    w, h = cam_info.image_size
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = w, h, 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    scene.camera = obj
    return obj


def load_clip(info: core_footage.Footage, frame_start: int):
    """The video as a movie clip whose first frame plays at scene frame `frame_start`."""
    clip = bpy.data.movieclips.load(str(info.video), check_existing=True)
    clip.frame_start = int(frame_start) - int(info.first_frame)
    clip.frame_offset = 0
    return clip


def set_background(camera_obj, clip) -> None:
    """The clip as the camera's only movie background (an earlier one of ours is reused)."""
    data = camera_obj.data
    bg = next((b for b in data.background_images if b.source == "MOVIE_CLIP"), None)
    if bg is None:
        bg = data.background_images.new()
    bg.source = "MOVIE_CLIP"
    bg.use_camera_clip = False
    bg.clip = clip
    bg.frame_method = "STRETCH"      # the camera frame has the video's aspect, so nothing is stretched
    bg.alpha = 1.0
    bg.display_depth = "BACK"
    bg.show_background_image = True
    data.show_background_images = True


def add(scene, result, frame_start: int, background: bool = True, camera: bool = True, collection=None) -> Added:
    """Put the footage of `result` (core.result_io.Result) into the scene; see the module doc."""
    info = core_footage.from_meta(result.meta)
    if info is None or not (background or camera):
        return Added()
    out = Added(info=info)
    notes = []
    cam_obj = None
    if camera:
        if info.camera is not None:
            cam_obj = matching_camera(scene, info, collection)
        else:
            notes.append("the engine could not fit a camera to this clip")
    if background:
        cam_obj = cam_obj or scene.camera
        if not info.exists:
            notes.append(f"the video {info.video} is not there any more, so it is not the camera's background")
        elif cam_obj is None:
            notes.append("the scene has no camera to show the video behind; turn on 'Camera matching the lift'")
        else:
            out.clip = load_clip(info, frame_start)
            set_background(cam_obj, out.clip)
    out.camera = cam_obj
    out.note = "; ".join(notes)
    if out.note:
        out.note = out.note[0].upper() + out.note[1:] + "."
    return out


def video_path(result) -> Path | None:
    info = core_footage.from_meta(result.meta)
    return info.video if info is not None else None
