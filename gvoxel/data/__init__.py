"""Voxel data: loading, resampling, mesh reading and voxelization."""

from gvoxel.data.dataset import (
    VoxelDataset,
    atomic_output,
    bundled_path,
    load_voxels,
    save_voxels,
)
from gvoxel.data.resample import downscale, resize, upscale

__all__ = [
    "VoxelDataset",
    "atomic_output",
    "bundled_path",
    "downscale",
    "load_voxels",
    "resize",
    "save_voxels",
    "upscale",
]
