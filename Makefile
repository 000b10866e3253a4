# The README's two commands: `make demo` (set up + main job) and `make test` (set up + all tests).
# Every install comes from this file, so a bare machine and CI need nothing else.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/demo

.PHONY: setup demo test blender-binary

setup: $(STAMP)

# torch comes from the registry (the CUDA build on Linux; it runs on CPU too), in the version that
# open_clip's torchvision asks for. numpy<2 because bpy 5.0.1 needs it (pinned in pyproject.toml).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Debian's Blender (3.4.1) for the tests that drive the real binary, with python3-numpy (Debian's
# Blender runs the system Python, which lacks numpy otherwise); skipped where both are present.
blender-binary:
	@{ command -v blender >/dev/null 2>&1 && dpkg -s python3-numpy >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq blender python3-numpy xvfb xauth >/dev/null; }

demo: setup
	HF_HUB_OFFLINE=1 $(PY) addon/batch.py --input engine/assets/demo_keypoints.npz --output $(OUT) --export blend,bvh

test: setup blender-binary
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q
