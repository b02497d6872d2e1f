"""Sample-quality metrics (§6.1 Tables 1-3 and 6) computed with the reference classifier.

scores: Inception score, class probability, FID (pure numpy on probabilities / features).
neighbours: nearest training shapes of each sample (memorisation check, Figure 2).
reference: the pinned reference classifier and its batched predictions.
evaluators: the same scores as periodic evaluators of the training loop.
"""

from gvoxel.metrics.neighbours import nearest_neighbours
from gvoxel.metrics.scores import class_probability, fid, inception_score

__all__ = ["class_probability", "fid", "inception_score", "nearest_neighbours"]
