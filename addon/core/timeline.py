"""The timeline markers the add-on makes for one result: what each says and where. No bpy here.

An animator scrubbing the timeline should see, without opening anything, where the motion is not
the engine's reading of a detection:

- one marker at each change of predicted action, named after the action;
- one marker per gap run, on its first frame: "held 170-229" (a long gap where the engine held
  the last detected pose: not real motion, to be animated by hand) or "interp 12-14" (a short
  gap the engine interpolated);
- one marker at the start of each identity segment after the first, "identity 2 120-299": from
  there the tracker followed what may be another person.

Frame numbers in the names are scene frames, like the marker's own position. The list is computed
here; `blender/markers.py` puts it into the scene and replaces the markers an earlier run made
for the same armature.
"""

from __future__ import annotations

from .result_io import Result

MAX_NAME = 63  # Blender keeps 63 characters of a marker name
GAP_LABELS = {"held": "held", "interpolated": "interp"}


def marker_specs(result: Result, frame_start: int = 1) -> list[tuple[int, str]]:
    """(scene frame, name) of every marker for `result`, in frame order (actions first on a tie)."""
    out = [(frame_start + i, text[:MAX_NAME] or "action") for i, text in result.action_segments()]
    for kind, spans in result.gap_runs().items():
        out += [(frame_start + s, f"{GAP_LABELS[kind]} {frame_start + s}-{frame_start + e}") for s, e in spans]
    out += [(frame_start + s, f"identity {k} {frame_start + s}-{frame_start + e}")
            for k, (s, e) in enumerate(result.segments[1:], start=2)]
    return sorted(out, key=lambda fm: fm[0])  # stable: actions, then gaps, then identities on a tie
