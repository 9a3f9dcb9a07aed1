"""compress_linalg's math and name mapping, on numpy (the GPU run uses torch with the same calls)."""

import unittest

import numpy as np

from gac_worker.compress_linalg import damped_cholesky, factor_pair, factor_role


class FactorRoleTest(unittest.TestCase):
    def test_maps_svdllm_and_asvd_factor_names_to_their_dense_weight(self):
        self.assertEqual(factor_role("model.layers.0.self_attn.q_v_proj.weight"), ("model.layers.0.self_attn.q_proj.weight", "first"))
        self.assertEqual(factor_role("model.layers.0.mlp.down_u_proj.weight"), ("model.layers.0.mlp.down_proj.weight", "second"))
        self.assertEqual(factor_role("model.layers.0.self_attn.q_u_proj.bias"), ("model.layers.0.self_attn.q_proj.weight", "bias"))
        self.assertEqual(factor_role("model.layers.1.mlp.up_proj.BLinear.weight"), ("model.layers.1.mlp.up_proj.weight", "first"))
        self.assertEqual(factor_role("model.layers.1.mlp.up_proj.ALinear.bias"), ("model.layers.1.mlp.up_proj.weight", "bias"))
        self.assertIsNone(factor_role("model.layers.0.self_attn.q_proj.weight"))
        self.assertIsNone(factor_role("model.embed_tokens.weight"))


class FactorPairTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        self.w = rng.standard_normal((12, 9))
        x = rng.standard_normal((40, 9))
        self.x = x
        self.l, _ = damped_cholesky(np, x.T @ x)

    def test_full_rank_gives_back_the_weight_plain_and_whitened(self):
        for l in (None, self.l):
            first, second = factor_pair(np, self.w, 9, l)
            self.assertEqual(first.shape, (9, 9))
            self.assertEqual(second.shape, (12, 9))
            self.assertLess(np.abs(second @ first - self.w).max(), 1e-12)

    def test_whitened_truncation_error_on_the_inputs_is_the_dropped_sigma_squared(self):
        first, second = factor_pair(np, self.w, 4, self.l)
        err = ((self.x @ (second @ first).T - self.x @ self.w.T) ** 2).sum()
        s = np.linalg.svd(self.w @ self.l, compute_uv=False)
        self.assertAlmostEqual(err / (s[4:] ** 2).sum(), 1.0, places=9)

    def test_damped_cholesky_adds_a_diagonal_only_when_needed(self):
        _, d0 = damped_cholesky(np, self.x.T @ self.x)
        self.assertEqual(d0, 0.0)
        few = self.x[:3]
        l, d = damped_cholesky(np, few.T @ few)
        self.assertGreater(d, 0.0)
        self.assertLess(np.abs(l @ l.T - (few.T @ few + d * np.eye(9))).max(), 1e-9)


if __name__ == "__main__":
    unittest.main()
