"""The Python API end to end: train a small model, load it, draw fresh shapes, score them by
their energy, and write a picture and meshes.

    python examples/api.py [WORKDIR] [CONFIG]      # default: a temporary folder, synthesis:smoke
"""

import sys
import tempfile

import gvoxel
from gvoxel import train
from gvoxel.experiment import config as config_lib

workdir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="gvoxel_")
spec = sys.argv[2] if len(sys.argv) > 2 else "synthesis:smoke"

train.train_and_evaluate(config_lib.load(spec), workdir)  # resumes if already trained

model = gvoxel.load(workdir)
print(model)
shapes = model.sample(8, seed=0)  # (8, R, R, R) soft occupancies, drawn as `gvoxel sample` does
print("fresh shapes", shapes.shape, "energies", model.energy(shapes).round(1))
print("picture", gvoxel.render(shapes, f"{workdir}/api_samples.png"))
print("meshes", len(gvoxel.export_meshes(shapes, f"{workdir}/api_meshes")))
