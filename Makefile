# The README's two commands: `make demo` (set up + main job) and `make test` (set up + all tests).
# Every install comes from this file, so a bare machine and CI need nothing else.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

MP_POSE := .cache/mediapipe-pose
MP_NPM  := @mediapipe/pose@0.5.1675469404

.PHONY: setup demo test blender-binary mediapipe-models

setup: $(STAMP) mediapipe-models

# torch comes from the registry (the CUDA build on Linux; it runs on CPU too), in the version that
# open_clip's torchvision asks for. numpy<2 because bpy 5.0.1 needs it (pinned in pyproject.toml).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,video]"
	touch $(STAMP)

# The MediaPipe lite and heavy pose models (complexity 0 and 2) for `engine detect` / `lift VIDEO`:
# the mediapipe 0.10.14 wheel ships only the full model and would download the others at run time,
# which fails offline. They come from the npm package instead, unpacked into $(MP_POSE) (outside
# git); the engine copies the one it needs next to the wheel's model on first use. Without npm
# this says so and goes on: `--detector-model full` (the fallback of the default, auto) still works.
mediapipe-models: $(MP_POSE)/pose_landmark_heavy.tflite

$(MP_POSE)/pose_landmark_heavy.tflite:
	@command -v npm >/dev/null 2>&1 || { echo "note: npm is missing, so the MediaPipe lite and heavy pose models are not installed (apt-get install npm, then make mediapipe-models)"; exit 0; }; \
	mkdir -p $(MP_POSE) && cd $(MP_POSE) && rm -f mediapipe-pose-*.tgz && npm pack --silent $(MP_NPM) >/dev/null && \
	tar -xzf mediapipe-pose-*.tgz --strip-components=1 package/pose_landmark_heavy.tflite package/pose_landmark_lite.tflite && \
	rm -f mediapipe-pose-*.tgz && touch pose_landmark_lite.tflite pose_landmark_heavy.tflite

# Debian's Blender (3.4.1) for the tests that drive the real binary, with python3-numpy (Debian's
# Blender runs the system Python, which lacks numpy otherwise); skipped where both are present.
blender-binary:
	@{ command -v blender >/dev/null 2>&1 && dpkg -s python3-numpy >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq blender python3-numpy xvfb xauth >/dev/null; }

# DEMO_INPUT may be any input the engine takes, e.g. the sample video:
#   make demo DEMO_INPUT=../shared/samples/video/sports2d_demo.mp4 OUT=out/video
DEMO_INPUT ?= engine/assets/demo_keypoints.npz

demo: setup
	HF_HUB_OFFLINE=1 $(PY) addon/batch.py --input $(DEMO_INPUT) --output $(OUT) --export blend,bvh

test: setup blender-binary
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q
