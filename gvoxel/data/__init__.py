"""Voxel data: loading, the one train/validation split, mesh reading, voxelization, atomic
writes. Resampling (the block operators C and C⁻) is in gvoxel.core.resample."""

from gvoxel.core.resample import downscale, resize, upscale
from gvoxel.data.dataset import VoxelDataset, bundled_path
from gvoxel.data.files import atomic_output, save_voxels
from gvoxel.data.loaders import load_voxels

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
