import math
import unittest

from gac_worker.accuracy import (
    check_job, diff_figures, layout_destinations, spec_tensors, tensor_seed, window_batches,
)


def dense(name, out, inp, bias=False):
    ref = {"tensor": name, "out": out, "in": inp}
    if bias:
        ref["bias"] = name.replace("weight", "bias")
    return {"kind": "dense", "in": inp, "out": out, "weight": ref}


def tiny_spec(tied=False):
    p = "model.layers.0."
    layer = {
        "index": 0, "inputNorm": p + "input_layernorm.weight", "postAttentionNorm": p + "post_attention_layernorm.weight",
        "attn": {"numHeads": 2, "numKvHeads": 1, "headDim": 4, "headDimV": 4,
                 "q": dense(p + "self_attn.q_proj.weight", 8, 8, bias=True), "k": dense(p + "self_attn.k_proj.weight", 4, 8),
                 "v": {"kind": "lowrank", "in": 8, "out": 4, "rank": 3,
                       "first": {"tensor": p + "self_attn.v_proj.BLinear.weight", "out": 3, "in": 8},
                       "second": {"tensor": p + "self_attn.v_proj.ALinear.weight", "out": 4, "in": 3}},
                 "o": dense(p + "self_attn.o_proj.weight", 8, 8)},
        "mlp": {"intermediate": 5, "gate": dense(p + "mlp.gate_proj.weight", 5, 8), "up": dense(p + "mlp.up_proj.weight", 5, 8),
                "down": dense(p + "mlp.down_proj.weight", 8, 5)},
    }
    return {"hiddenSize": 8, "vocabSize": 16, "embedTokens": "model.embed_tokens.weight", "finalNorm": "model.norm.weight",
            "lmHead": "model.embed_tokens.weight" if tied else "lm_head.weight", "layers": [layer]}


class LayoutTest(unittest.TestCase):
    def test_places_each_source_index_at_its_runs_destination_and_leaves_gaps_for_zeros(self):
        # RoPE half-split of one head 4 -> 6: [0, 1] stay, [2, 3] move to [3, 4], zeros at 2 and 5.
        layout = {"from": 4, "to": 6, "runs": [{"src": 0, "dst": 0, "len": 2}, {"src": 2, "dst": 3, "len": 2}]}
        self.assertEqual(layout_destinations(layout), [0, 1, 3, 4])

    def test_refuses_a_layout_that_leaves_a_source_index_unplaced_or_runs_past_the_end(self):
        with self.assertRaises(ValueError):
            layout_destinations({"from": 3, "to": 4, "runs": [{"src": 0, "dst": 0, "len": 2}]})
        with self.assertRaises(ValueError):
            layout_destinations({"from": 2, "to": 2, "runs": [{"src": 0, "dst": 1, "len": 2}]})


class SpecTensorsTest(unittest.TestCase):
    def test_lists_every_tensor_the_forward_reads_with_its_shape_and_role(self):
        t = spec_tensors(tiny_spec())
        self.assertEqual(t["model.layers.0.self_attn.q_proj.weight"], ([8, 8], "weight"))
        self.assertEqual(t["model.layers.0.self_attn.q_proj.bias"], ([8], "bias"))
        self.assertEqual(t["model.layers.0.self_attn.v_proj.BLinear.weight"], ([3, 8], "weight"))
        self.assertEqual(t["model.layers.0.self_attn.v_proj.ALinear.weight"], ([4, 3], "weight"))
        self.assertEqual(t["model.norm.weight"], ([8], "norm"))
        self.assertEqual(t["lm_head.weight"], ([16, 8], "weight"))
        self.assertEqual(len(t), 14)

    def test_a_tied_lm_head_is_the_embedding_table_once(self):
        t = spec_tensors(tiny_spec(tied=True))
        self.assertNotIn("lm_head.weight", t)
        self.assertEqual(t["model.embed_tokens.weight"], ([16, 8], "embedding"))


class SeedTest(unittest.TestCase):
    def test_differs_per_tensor_and_per_seed_and_is_stable(self):
        self.assertNotEqual(tensor_seed(0, "a"), tensor_seed(0, "b"))
        self.assertNotEqual(tensor_seed(0, "a"), tensor_seed(1, "a"))
        self.assertEqual(tensor_seed(7, "model.norm.weight"), tensor_seed(7, "model.norm.weight"))


class WindowBatchTest(unittest.TestCase):
    def test_groups_consecutive_windows_of_one_length_up_to_the_batch_size(self):
        windows = [[0, 4, 0], [4, 4, 0], [8, 4, 0], [12, 2, 0]]
        self.assertEqual(window_batches(windows, 2), [[[0, 4, 0], [4, 4, 0]], [[8, 4, 0]], [[12, 2, 0]]])


class DiffFiguresTest(unittest.TestCase):
    def test_relative_figure_divides_by_the_largest_original_value_and_is_zero_for_two_zero_tensors(self):
        f = diff_figures(0.5, 10.0, 1.0, 4, 3, 2)
        self.assertEqual(f["max_rel_diff"], 0.05)
        self.assertEqual(f["mean_abs_diff"], 0.25)
        self.assertEqual(diff_figures(0.0, 0.0, 0.0, 4, 2, 2)["max_rel_diff"], 0.0)
        self.assertTrue(math.isinf(diff_figures(1.0, 0.0, 1.0, 4, 2, 2)["max_rel_diff"]))


class CheckJobTest(unittest.TestCase):
    def model(self, source):
        return {"label": "m", "dir": "/x", "spec": tiny_spec(), "attention_scale": [0.5], "inv_freq": {"4": [1.0, 0.1]}, "weights": source}

    def test_accepts_a_derived_model_only_after_the_one_it_derives_from(self):
        ok = {"schema": "gac-accuracy-job/1", "op": "verify", "models": [self.model({"source": "checkpoint"}), self.model({"source": "derived", "from": 0, "edits": []})]}
        self.assertIs(check_job(ok), ok)
        bad = {**ok, "models": [self.model({"source": "derived", "from": 0, "edits": []})]}
        with self.assertRaises(ValueError):
            check_job(bad)

    def test_refuses_another_schema_or_op(self):
        with self.assertRaises(ValueError):
            check_job({"schema": "gac-accuracy-job/2", "op": "eval", "models": []})
        with self.assertRaises(ValueError):
            check_job({"schema": "gac-accuracy-job/1", "op": "train", "models": [self.model({"source": "checkpoint"})]})


if __name__ == "__main__":
    unittest.main()
