"""Issue #19 item 13: retargeting onto a rig Rigify *generated* (not its metarig) moves the limbs.

Debian's Blender 3.4.1, headless: Rigify's human metarig, `pose.rigify_generate()` (about 15 s,
done once per session and kept as a .blend), then the real engine's result for the jumping-jacks
sample retargeted with Auto mapping. Auto must pick the generated-rig preset (FK controls, IK/FK
switched to FK), and the deforming wrist must travel: a jumping jack swings the arms over the head.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine_support import require_blender_binary, require_shared

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.blender, pytest.mark.shared, pytest.mark.slow]

GENERATE = r'''
import sys, addon_utils, bpy
addon_utils.enable("rigify", default_set=True)
bpy.ops.object.armature_human_metarig_add()
bpy.ops.pose.rigify_generate()
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[sys.argv.index("--") + 1])
'''

RETARGET = r'''
import json, sys, bpy
cfg = json.loads(sys.argv[sys.argv.index("--") + 1])
sys.path.insert(0, cfg["repo"])
import addon
addon.register()
rig = bpy.data.objects["rig"]
s = bpy.context.scene.dreampose3d
s.target, s.armature, s.mapping, s.input_path = "EXISTING", rig, "AUTO", cfg["result"]
out = {"op": sorted(bpy.ops.dreampose3d.lift()), "error": bpy.context.window_manager.dreampose3d_run.last_error}
action = rig.animation_data.action
out["keyed"] = sorted({fc.data_path.split('"')[1] for fc in action.fcurves if fc.data_path.startswith("pose.bones")})
out["ik_fk"] = {b: rig.pose.bones[b]["IK_FK"] for b in ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L",
                                                       "thigh_parent.R")}
scene = bpy.context.scene
wrists, ankles = [], []
for frame in range(int(action.frame_range[0]), int(action.frame_range[1]) + 1, 3):
    scene.frame_set(frame)
    ev = rig.evaluated_get(bpy.context.evaluated_depsgraph_get())
    wrists.append(list(ev.matrix_world @ ev.pose.bones["DEF-hand.L"].head))
    ankles.append(list(ev.matrix_world @ ev.pose.bones["DEF-foot.L"].head))
out["wrists"], out["ankles"] = wrists, ankles
print("RESULT " + json.dumps(out))
'''


def _result(proc) -> dict:
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError(f"no RESULT line:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


@pytest.fixture(scope="session")
def generated_rig(tmp_path_factory) -> Path:
    """A .blend holding the rig Rigify generates from its human metarig (made once: ~15 s)."""
    require_blender_binary()
    tmp = tmp_path_factory.mktemp("rigify_generated")
    (tmp / "generate.py").write_text(GENERATE)
    path = tmp / "generated_rig.blend"
    proc = subprocess.run(["blender", "-b", "--factory-startup", "--python-exit-code", "1", "--python",
                           str(tmp / "generate.py"), "--", str(path)], capture_output=True, text=True, timeout=300)
    assert path.exists(), proc.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def jumping_jacks_result(tmp_path_factory) -> Path:
    """The shipped engine's result for the jumping-jacks sample (VideoPose3D custom file)."""
    sample = require_shared("samples", "videopose3d_custom", "jumping_jacks_front.mp4.npz")
    out = tmp_path_factory.mktemp("jj") / "jumping_jacks.npz"
    proc = subprocess.run([sys.executable, "-m", "engine", "lift", str(sample), "-o", str(out), "--fps", "30",
                           "--device", "cpu"], capture_output=True, text=True, timeout=600, cwd=REPO,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_auto_mapping_drives_the_fk_controls_of_a_generated_rigify_rig(generated_rig, jumping_jacks_result, tmp_path):
    import numpy as np

    (tmp_path / "retarget.py").write_text(RETARGET)
    cfg = {"repo": str(REPO), "result": str(jumping_jacks_result)}
    proc = subprocess.run(["blender", "-b", str(generated_rig), "--python", str(tmp_path / "retarget.py"), "--",
                           json.dumps(cfg)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, BLENDER_USER_CONFIG=str(tmp_path / "config"),
                                   BLENDER_USER_SCRIPTS=str(tmp_path / "scripts")))
    out = _result(proc)
    assert out["op"] == ["FINISHED"], out["error"]
    assert {"torso", "upper_arm_fk.L", "forearm_fk.L", "hand_fk.L", "thigh_fk.L", "shin_fk.L", "foot_fk.R"} \
        <= set(out["keyed"])
    assert not [b for b in out["keyed"] if b.startswith(("DEF-", "ORG-", "MCH-", "tweak"))]   # controls only
    assert out["ik_fk"] == dict.fromkeys(out["ik_fk"], 1.0)                                   # FK
    wrists = np.array(out["wrists"])
    travel = np.linalg.norm(wrists.max(0) - wrists.min(0))
    assert travel > 0.2, f"the left wrist moved {travel:.3f} m over the clip"
    assert wrists[:, 2].max() - wrists[:, 2].min() > 0.2                   # the arms go up and down
