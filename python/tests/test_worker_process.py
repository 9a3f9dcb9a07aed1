"""Runs the worker as the TS client will: a subprocess speaking JSON lines."""
import importlib.util
import io
import json
import os
import subprocess
import sys
import threading
import unittest
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def run_worker(stdin: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PYTHON_DIR)}
    return subprocess.run([sys.executable, "-u", "-m", "gac_worker", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env)


@unittest.skipIf(HAS_TORCH, "torch is installed here; the no_torch path cannot be observed")
class NoTorchTest(unittest.TestCase):
    def test_reports_no_torch_as_one_json_line_and_exits_zero(self):
        proc = run_worker('{"type":"shutdown"}\n')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 1)
        cap = json.loads(lines[0])
        self.assertEqual((cap["type"], cap["ok"], cap["reason"]), ("capability", False, "no_torch"))
        self.assertEqual(cap["protocol_version"], 1)
        self.assertIn("torch", cap["message"])


class SessionWithoutGpuTest(unittest.TestCase):
    """Drives Session directly (no torch needed): paths that never reach a GPU."""

    def converse(self, lines):
        from gac_worker.session import Output, Session

        out = io.StringIO()
        session = Session(Output(out), torch=None, device=0, capability={})
        runner = threading.Thread(target=session.run, args=(io.StringIO("".join(l + "\n" for l in lines)),))
        runner.start()
        runner.join(10)
        self.assertFalse(runner.is_alive(), "session did not end")
        return [json.loads(l) for l in out.getvalue().splitlines()]

    def test_bad_jobs_are_answered_and_the_session_goes_on_to_bye(self):
        msgs = self.converse([
            "garbage",
            '{"type":"job","id":"a","op":"gemm","params":{"m":1}}',
            '{"type":"shutdown"}',
            '{"type":"job","id":"never","op":"gemm","params":{}}',
        ])
        self.assertEqual([m["type"] for m in msgs], ["error", "error", "bye"])
        self.assertEqual((msgs[0]["id"], msgs[0]["error"]["type"]), (None, "bad_job"))
        self.assertEqual((msgs[1]["id"], msgs[1]["error"]["type"]), ("a", "bad_job"))
        self.assertIn("params.n is required", msgs[1]["error"]["message"])

    def test_a_job_cancelled_before_it_starts_is_reported_cancelled(self):
        msgs = self.converse([
            '{"type":"cancel","id":"g"}',
            '{"type":"job","id":"g","op":"gemm","params":{"m":8,"n":8,"k":8,"dtype":"fp16"}}',
        ])
        self.assertEqual(msgs[0]["error"]["type"], "cancelled")
        self.assertEqual(msgs[0]["id"], "g")
        self.assertEqual(msgs[-1], {"type": "bye"})  # EOF ends the session like shutdown


if __name__ == "__main__":
    unittest.main()
