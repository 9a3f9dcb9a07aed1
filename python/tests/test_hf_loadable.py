"""Whether stock transformers can load a model from its config.json (pure; runs without torch)."""
import unittest

from gac_worker.e2e.hf_loadable import unsupported_reason

CONFIG = {"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "intermediate_size": 11008}


def layer(index: int, intermediate: int = 11008, heads: int = 32, kv: int = 32, head_dim: int = 128) -> dict:
    return {"index": index, "attn": {"numHeads": heads, "numKvHeads": kv, "headDim": head_dim},
            "mlp": {"intermediate": intermediate}}


def spec(*layers: dict, family: str = "dense") -> dict:
    return {"family": family, "heterogeneous": False, "layers": list(layers),
            "rope": {"theta": 10000.0, "scaling": {"type": "default"}}}


class HfLoadable(unittest.TestCase):
    def test_a_dense_model_whose_config_matches_its_shapes_loads(self):
        self.assertIsNone(unsupported_reason(spec(layer(0), layer(1)), CONFIG))

    def test_a_pruned_mlp_under_the_original_config_is_refused_with_the_layer_and_both_widths(self):
        # FLAP's layout: every layer 8806 wide, config.json still says 11008 (the H200 study's 6 failed jobs)
        reason = unsupported_reason(spec(layer(0, intermediate=8806), layer(1, intermediate=8806)), CONFIG)
        self.assertEqual(reason, "transformers builds every layer from config.json's intermediate_size 11008, but layer 0 "
                                 "has 8806 gate_proj rows (a pruned checkpoint that keeps the original config)")

    def test_the_same_widths_load_once_the_config_says_them(self):
        # gac repair rewrites intermediate_size, so the repaired copy loads
        self.assertIsNone(unsupported_reason(spec(layer(0, intermediate=8816)), {**CONFIG, "intermediate_size": 8816}))

    def test_head_dim_defaults_to_hidden_over_heads_when_the_config_has_none(self):
        self.assertRegex(unsupported_reason(spec(layer(0, head_dim=112)), CONFIG), "head_dim 128, but layer 0 has 112 head_dim")
        self.assertIsNone(unsupported_reason(spec(layer(0, head_dim=112)), {**CONFIG, "head_dim": 112}))

    def test_key_value_heads_default_to_the_query_heads(self):
        self.assertRegex(unsupported_reason(spec(layer(0, kv=8)), CONFIG), "num_key_value_heads 32, but layer 0 has 8 key/value heads")
        self.assertIsNone(unsupported_reason(spec(layer(0, kv=8)), {**CONFIG, "num_key_value_heads": 8}))

    def test_factor_pair_families_are_refused_before_any_shape_is_compared(self):
        self.assertRegex(unsupported_reason(spec(layer(0), family="asvd"), CONFIG), "BLinear/ALinear")

    def test_per_layer_shapes_are_refused(self):
        s = {**spec(layer(0), layer(1, intermediate=9000)), "heterogeneous": True}
        self.assertRegex(unsupported_reason(s, CONFIG), "same shapes in every layer")


if __name__ == "__main__":
    unittest.main()
