"""gvoxel: Generative VoxelNet (energy-based 3D shape models) in JAX/Flax.

import gvoxel
m = gvoxel.load("runs/chair")
gvoxel.render(m.sample(16), "chairs.png")
"""

__version__ = "0.1.0"

_API = ("load", "render", "export_meshes", "Model")


def __getattr__(name):  # the API loads jax only when it is used
    if name in _API:
        from gvoxel import api

        return getattr(api, name)
    raise AttributeError(f"module 'gvoxel' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])
