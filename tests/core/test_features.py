"""§6.5 features: the documented size, pooled maxima of the descriptor's maps."""

import jax
import numpy as np

from gvoxel.core import features, nets


def test_paper_net_gives_8100_features_at_32():
    d = nets.Descriptor(layers=nets.resolve_layers("synthesis"))
    assert features.feature_size(d, 32) == 200 * 27 + 100 * 27 == 8100


def test_extracted_features_match_the_documented_size_and_pool_maxima():
    d = nets.Descriptor(layers=nets.resolve_layers("tiny"), init_std=0.1)
    y = np.random.default_rng(0).normal(size=(5, 16, 16, 16)).astype(np.float32)
    params = d.init(jax.random.PRNGKey(0), y[:1])["params"]
    f = features.extract_all(d, params, y, batch_size=2)
    assert f.shape == (5, features.feature_size(d, 16)) == (5, 8 * 2**3 + 8 * 2**3)
    _, maps = d.apply({"params": params}, y, features=True)
    # layer 1 is 8³ pooled by 4: the first feature is the max over its first 4³ block
    np.testing.assert_allclose(
        f[:, 0], np.asarray(maps[0])[:, :4, :4, :4, 0].max((1, 2, 3)), rtol=1e-5
    )
