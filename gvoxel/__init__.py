"""gvoxel: Generative VoxelNet (energy-based 3D shape models) in JAX/Flax."""

__version__ = "0.1.0"
