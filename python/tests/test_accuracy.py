import math
import unittest

from gac_worker.accuracy import check_job, diff_figures, window_batches


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
