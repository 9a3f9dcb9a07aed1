import json
import unittest

from gac_worker.protocol import Cancel, Job, JobError, Shutdown, dumps, parse_message, peek_id


def job(op, params, **more):
    return json.dumps({"type": "job", "id": "j1", "op": op, "params": params, **more})


SDPA = {"batch": 4, "heads": 32, "q_len": 2048, "head_dim": 107, "dtype": "fp16"}


class ParseTest(unittest.TestCase):
    def assertBadJob(self, line, *fragments):
        with self.assertRaises(JobError) as ctx:
            parse_message(line)
        self.assertEqual(ctx.exception.type, "bad_job")
        for fragment in fragments:
            self.assertIn(fragment, ctx.exception.message)

    def test_fills_sdpa_defaults_including_derived_ones(self):
        m = parse_message(job("sdpa", SDPA))
        self.assertIsInstance(m, Job)
        p = m.params
        self.assertEqual((p["kv_heads"], p["kv_len"], p["head_dim_v"]), (32, 2048, 107))
        self.assertEqual((p["backend"], p["causal"], p["gqa"], p["pad_to"]), ("AUTO", False, "native", None))

    def test_pad_to_v_defaults_to_pad_to_when_v_shares_the_head_dim(self):
        p = parse_message(job("sdpa", {**SDPA, "pad_to": 112})).params
        self.assertEqual(p["pad_to_v"], 112)
        p = parse_message(job("sdpa", {**SDPA, "head_dim_v": 128, "pad_to": 112})).params
        self.assertEqual(p["pad_to_v"], 128)

    def test_refuses_padding_that_shrinks(self):
        self.assertBadJob(job("sdpa", {**SDPA, "pad_to": 104}), "pad_to = 104", "head_dim = 107")

    def test_refuses_gqa_ratio_that_is_not_whole(self):
        self.assertBadJob(job("sdpa", {**SDPA, "kv_heads": 5}), "not a multiple of kv_heads = 5")

    def test_names_unknown_params_so_typos_do_not_measure_defaults(self):
        self.assertBadJob(job("sdpa", {**SDPA, "head_dims": 107}), "unknown field(s) head_dims")

    def test_names_missing_required_params(self):
        p = dict(SDPA)
        del p["head_dim"]
        self.assertBadJob(job("sdpa", p), "params.head_dim is required")

    def test_checks_types_enums_and_ranges(self):
        self.assertBadJob(job("sdpa", {**SDPA, "batch": "4"}), "params.batch", "integer")
        self.assertBadJob(job("sdpa", {**SDPA, "batch": True}), "params.batch", "integer")
        self.assertBadJob(job("sdpa", {**SDPA, "dtype": "fp8"}), "fp16, bf16, fp32")
        self.assertBadJob(job("sdpa", {**SDPA, "backend": "flash"}), "AUTO, FLASH")
        self.assertBadJob(job("sdpa", {**SDPA, "head_dim": 0}), ">= 1")
        self.assertBadJob(job("gemm", {"m": 1 << 30, "n": 1, "k": 1, "dtype": "fp16"}), "<= 16777216")

    def test_gemm_linear_and_hetero(self):
        self.assertEqual(parse_message(job("gemm", {"m": 4096, "n": 4096, "k": 107, "dtype": "bf16"})).params["k"], 107)
        self.assertFalse(parse_message(job("linear", {"m": 1, "n": 2, "k": 3, "dtype": "fp16"})).params["bias"])
        het = parse_message(job("sdpa_hetero", {"batch": 1, "q_len": 128, "dtype": "fp16",
                                                "group_head_dims": [107, 114], "mode": "single_padded"})).params
        self.assertEqual((het["heads_per_group"], het["pad_multiple"], het["kv_len"]), (1, 8, 128))
        self.assertBadJob(job("sdpa_hetero", {"batch": 1, "q_len": 128, "dtype": "fp16",
                                              "group_head_dims": [], "mode": "single_padded"}), "non-empty")
        self.assertBadJob(job("sdpa_hetero", {"batch": 1, "q_len": 128, "dtype": "fp16",
                                              "group_head_dims": [107], "mode": "packed"}), "per_group_raw")

    def test_method_overrides_are_checked_and_only_given_ones_kept(self):
        m = parse_message(job("gemm", {"m": 1, "n": 1, "k": 1, "dtype": "fp16"}, method={"min_samples": 20}))
        self.assertEqual(m.method, {"min_samples": 20})
        self.assertBadJob(job("gemm", {"m": 1, "n": 1, "k": 1, "dtype": "fp16"}, method={"samples": 3}), "method has unknown")

    def test_unknown_op_type_and_non_json(self):
        self.assertBadJob(job("conv", {}), 'op "conv" is unknown')
        self.assertBadJob('{"type":"jobs","id":1}', 'type = "jobs"')
        self.assertBadJob("not json", "not JSON")
        self.assertBadJob("[1,2]", "JSON object")
        self.assertBadJob('{"type":"job","op":"gemm","params":{}}', "id is required")

    def test_cancel_and_both_spellings_of_shutdown(self):
        self.assertEqual(parse_message('{"type":"cancel","id":"j1"}'), Cancel("j1"))
        self.assertIsInstance(parse_message('{"type":"shutdown"}'), Shutdown)
        self.assertIsInstance(parse_message('{"type":"job","id":"x","op":"shutdown"}'), Shutdown)

    def test_peek_id_recovers_the_id_of_a_bad_job(self):
        self.assertEqual(peek_id(job("conv", {})), "j1")
        self.assertIsNone(peek_id("garbage"))

    def test_dumps_refuses_nan(self):
        with self.assertRaises(ValueError):
            dumps({"x": float("nan")})


if __name__ == "__main__":
    unittest.main()


class PackageVersionTest(unittest.TestCase):
    def test_reads_an_installed_distributions_version_without_importing_it_and_none_for_a_missing_one(self):
        from gac_worker.capability import package_version

        self.assertIsInstance(package_version("pip") or "", str)
        self.assertIsNone(package_version("gac-no-such-distribution"))
