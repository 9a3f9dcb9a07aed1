"""The e2e ops' parameter validation (pure; runs without torch)."""
import unittest

from gac_worker.e2e.params import validate_e2e
from gac_worker.protocol import JobError, parse_message

SPEC = {"family": "dense", "layers": [], "hiddenSize": 8, "vocabSize": 16, "embedTokens": "e", "lmHead": "h",
        "finalNorm": "n", "rope": {"theta": 10000.0, "scaling": {"type": "default"}}}
MODEL = {"label": "m", "spec": SPEC, "weights": "random"}


def e2e(**over):
    p = {"model": MODEL, "engine": "gac", "config": "graph", "decode": [{"batch": 1, "context": 64}]}
    p.update(over)
    return p


class E2eParams(unittest.TestCase):
    def test_fills_defaults_and_keeps_the_grid(self):
        p = validate_e2e("e2e", e2e(prefill=[{"batch": 2, "seq": 128}]))
        self.assertEqual(p["cache"], "static")
        self.assertEqual(p["prefill"], [{"batch": 2, "seq": 128}])
        self.assertEqual(p["decode_steps"], 16)
        self.assertEqual(p["model"]["weights"], "random")

    def test_refuses_a_config_of_the_other_engine(self):
        with self.assertRaisesRegex(JobError, "params.config"):
            validate_e2e("e2e", e2e(config="sdpa-nocudnn"))

    def test_refuses_a_dynamic_cache_for_the_gac_engine(self):
        with self.assertRaisesRegex(JobError, "static"):
            validate_e2e("e2e", e2e(cache="dynamic"))

    def test_refuses_an_empty_grid(self):
        with self.assertRaisesRegex(JobError, "at least one"):
            validate_e2e("e2e", e2e(decode=[]))

    def test_names_an_unknown_grid_field(self):
        with self.assertRaisesRegex(JobError, r"params.decode\[0\] has unknown field\(s\) ctx"):
            validate_e2e("e2e", e2e(decode=[{"batch": 1, "ctx": 5}]))

    def test_refuses_checkpoint_weights_without_a_directory(self):
        with self.assertRaisesRegex(JobError, "checkpoint must be a directory"):
            validate_e2e("e2e", e2e(model={**MODEL, "weights": "checkpoint"}))

    def test_accepts_a_base_for_checkpoint_weights_read_from_the_original(self):
        p = validate_e2e("e2e", e2e(model={**MODEL, "weights": "checkpoint", "checkpoint": "/x", "base": {"spec": SPEC, "edits": []}}))
        self.assertEqual(p["model"]["base"]["edits"], [])

    def test_refuses_base_edits_that_are_not_a_list(self):
        with self.assertRaisesRegex(JobError, "base.edits must be a list"):
            validate_e2e("e2e", e2e(model={**MODEL, "base": {"spec": SPEC, "edits": {}}}))

    def test_requires_the_spec_fields_the_engine_reads(self):
        bad = {k: v for k, v in SPEC.items() if k != "lmHead"}
        with self.assertRaisesRegex(JobError, "spec.lmHead is required"):
            validate_e2e("e2e", e2e(model={**MODEL, "spec": bad}))

    def test_logits_op_takes_two_models(self):
        p = validate_e2e("e2e_logits", {"original": MODEL, "repaired": MODEL})
        self.assertEqual(p["engines"], ["transformers", "gac"])
        self.assertEqual((p["batch"], p["seq"]), (1, 512))

    def test_gac_engine_takes_its_four_configurations(self):
        for config in ("eager", "eager-nocudnn", "graph", "graph-splitkv"):
            self.assertEqual(validate_e2e("e2e", e2e(config=config))["config"], config)
        with self.assertRaisesRegex(JobError, "must be one of eager, eager-nocudnn, graph, graph-splitkv"):
            validate_e2e("e2e", e2e(config="graph-flash"))

    def test_logits_op_checks_decode_paths_only_when_asked_and_only_with_a_boolean(self):
        self.assertFalse(validate_e2e("e2e_logits", {"original": MODEL, "repaired": MODEL})["decode_paths"])
        self.assertTrue(validate_e2e("e2e_logits", {"original": MODEL, "repaired": MODEL, "decode_paths": True})["decode_paths"])
        with self.assertRaisesRegex(JobError, "decode_paths must be true or false"):
            validate_e2e("e2e_logits", {"original": MODEL, "repaired": MODEL, "decode_paths": "yes"})

    def test_job_lines_route_e2e_ops_through_their_own_validation(self):
        import json

        job = parse_message(json.dumps({"type": "job", "id": "e2e/x", "op": "e2e", "params": e2e()}))
        self.assertEqual(job.params["engine"], "gac")
        with self.assertRaisesRegex(JobError, "known: .*e2e_logits"):
            parse_message(json.dumps({"type": "job", "id": 1, "op": "e2e_nope", "params": {}}))


if __name__ == "__main__":
    unittest.main()
