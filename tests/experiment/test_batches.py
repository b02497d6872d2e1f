"""The data statistics a run keeps."""

import numpy as np
import pytest

from gvoxel.experiment import batches


def test_principal_basis_is_the_data_covariance_top_k():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5)) @ rng.normal(size=(5, 512)) + 0.1 * rng.normal(size=(30, 512))
    x = (x - x.mean(0)).reshape(30, 8, 8, 8).astype(np.float32)
    basis = batches.principal_basis(x, 3)
    _, sv, vt = np.linalg.svd(x.reshape(30, -1).astype(np.float64), full_matrices=False)
    flat = basis.reshape(3, -1)
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), sv[:3] / np.sqrt(30), rtol=1e-5)
    cos = np.abs(np.sum(flat * vt[:3], axis=1)) / np.linalg.norm(flat, axis=1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-5)  # the same directions, up to sign
    with pytest.raises(ValueError, match="principal components"):
        batches.principal_basis(x, 31)
