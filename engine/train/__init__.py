"""Training-data pipeline: BVH mocap -> H36M-17 clips -> random-camera 2D/3D windows."""
