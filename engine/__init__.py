"""DreamPose3D engine: lift 2D keypoint sequences (Human3.6M-17) to 3D with a diffusion model.

The engine is a plain Python package (torch, numpy, scipy). The Blender add-on never imports it;
it runs `python -m engine lift ...` as a subprocess and reads the result file (see
`engine.sequence.LiftResult`).
"""

__version__ = "0.1.0"
