import { test } from "node:test";
import assert from "node:assert/strict";
import { tensorEdits, type TensorEdit } from "../../src/repair/tensor-edits.js";
import { padHeadsHalfSplit, padHeadsAtEnd, padAtEnd, padSegments } from "../../src/repair/rules/layout.js";
import { GacError } from "../../src/errors.js";
import { tinyModel, change, shapeLookup } from "./tiny-models.js";

function byName(edits: TensorEdit[]): Map<string, TensorEdit> {
  return new Map(edits.map((e) => [e.tensor, e]));
}

const L = "model.layers.0";

test("a head_dim change pads q/k per RoPE half, v per head at the end, o's columns to match v, and folds sqrt(D/d) into q", () => {
  const m = tinyModel({ form: "dense", heads: 2, kvHeads: 1, headDim: 6, bias: true });
  const edits = byName(tensorEdits(m.spec, [change({ kind: "head_dim", layer: 0 }, 6, 8)], "fold", shapeLookup(m.shapes)));
  const q = edits.get(`${L}.self_attn.q_proj.weight`)!;
  assert.deepEqual(q.to, [16, 16]);
  assert.deepEqual(q.rows, padHeadsHalfSplit(2, 6, 8));
  assert.equal(q.scale, Math.sqrt(8 / 6));
  assert.equal(edits.get(`${L}.self_attn.q_proj.bias`)!.scale, Math.sqrt(8 / 6));
  assert.deepEqual(edits.get(`${L}.self_attn.q_proj.bias`)!.to, [16]);
  assert.deepEqual(edits.get(`${L}.self_attn.k_proj.weight`)!.rows, padHeadsHalfSplit(1, 6, 8));
  assert.equal(edits.get(`${L}.self_attn.k_proj.weight`)!.scale, undefined);
  assert.deepEqual(edits.get(`${L}.self_attn.v_proj.weight`)!.rows, padHeadsAtEnd(1, 6, 8));
  assert.deepEqual(edits.get(`${L}.self_attn.v_proj.bias`)!.to, [8]);
  const o = edits.get(`${L}.self_attn.o_proj.weight`)!;
  assert.deepEqual(o.cols, padHeadsAtEnd(2, 6, 8));
  assert.deepEqual(o.to, [16, 16]);
  assert.equal(edits.size, 7);
});

test("logical scale mode pads the same tensors but scales nothing", () => {
  const m = tinyModel({ form: "dense", headDim: 6, bias: true });
  const edits = tensorEdits(m.spec, [change({ kind: "head_dim", layer: 0 }, 6, 8)], "logical", shapeLookup(m.shapes));
  assert.equal(edits.length, 7);
  assert.ok(edits.every((e) => e.scale === undefined));
});

test("an MLP intermediate change pads gate/up rows and down columns at the end", () => {
  const m = tinyModel({ form: "dense", intermediate: 10 });
  const edits = byName(tensorEdits(m.spec, [change({ kind: "intermediate", layer: 0 }, 10, 16)], "fold", shapeLookup(m.shapes)));
  assert.deepEqual(edits.get(`${L}.mlp.gate_proj.weight`)!.rows, padAtEnd(10, 16));
  assert.deepEqual(edits.get(`${L}.mlp.up_proj.weight`)!.to, [16, 16]);
  assert.deepEqual(edits.get(`${L}.mlp.down_proj.weight`)!.cols, padAtEnd(10, 16));
  assert.equal(edits.size, 3);
});

test("PaLU group ranks pad VT rows after each group's own rows and each U.g's columns", () => {
  const m = tinyModel({ form: "palu", paluRanks: [3, 5], bias: true });
  const changes = [change({ kind: "rank", layer: 0, linear: "self_attn.k_proj", group: 0 }, 3, 8), change({ kind: "rank", layer: 0, linear: "self_attn.k_proj", group: 1 }, 5, 8)];
  const edits = byName(tensorEdits(m.spec, changes, "fold", shapeLookup(m.shapes)));
  assert.deepEqual(edits.get(`${L}.self_attn.k_proj.VT.weight`)!.rows, padSegments([3, 5], [8, 8]));
  assert.deepEqual(edits.get(`${L}.self_attn.k_proj.U.0.weight`)!.to, [6, 8]);
  assert.deepEqual(edits.get(`${L}.self_attn.k_proj.U.1.weight`)!.cols, padAtEnd(5, 8));
  assert.equal(edits.has(`${L}.self_attn.k_proj.U.0.bias`), false, "a rank change leaves U biases alone");
  assert.equal(edits.size, 3);
});

test("a PaLU model's head_dim change pads each U.g's rows head by head", () => {
  const m = tinyModel({ form: "palu", paluRanks: [3, 5], heads: 4, kvHeads: 2, headDim: 6, bias: true });
  const edits = byName(tensorEdits(m.spec, [change({ kind: "head_dim", layer: 0 }, 6, 8)], "fold", shapeLookup(m.shapes)));
  assert.deepEqual(edits.get(`${L}.self_attn.k_proj.U.1.weight`)!.rows, padHeadsHalfSplit(1, 6, 8));
  assert.deepEqual(edits.get(`${L}.self_attn.k_proj.U.1.bias`)!.to, [8]);
  assert.deepEqual(edits.get(`${L}.self_attn.v_proj.U.0.weight`)!.rows, padHeadsAtEnd(1, 6, 8));
  assert.equal(edits.has(`${L}.self_attn.k_proj.VT.weight`), false);
});

test("SVD-LLM factors take the rank change and the head_dim change on different axes of one tensor", () => {
  const m = tinyModel({ form: "svdllm", rank: 5, headDim: 6 });
  const changes = [change({ kind: "rank", layer: 0, linear: "self_attn.q_proj" }, 5, 8), change({ kind: "head_dim", layer: 0 }, 6, 8)];
  const edits = byName(tensorEdits(m.spec, changes, "fold", shapeLookup(m.shapes)));
  const u = edits.get(`${L}.self_attn.q_u_proj.weight`)!;
  assert.deepEqual(u.from, [12, 5]);
  assert.deepEqual(u.to, [16, 8]);
  assert.equal(u.scale, Math.sqrt(8 / 6));
  assert.deepEqual(edits.get(`${L}.self_attn.q_v_proj.weight`)!.to, [8, 16]);
  assert.deepEqual(edits.get(`${L}.self_attn.o_v_proj.weight`)!.cols, padHeadsAtEnd(2, 6, 8));
});

test("ASVD pads BLinear rows and ALinear columns", () => {
  const m = tinyModel({ form: "asvd", rank: 5 });
  const edits = byName(tensorEdits(m.spec, [change({ kind: "rank", layer: 0, linear: "mlp.down_proj" }, 5, 8)], "fold", shapeLookup(m.shapes)));
  assert.deepEqual(edits.get(`${L}.mlp.down_proj.BLinear.weight`)!.to, [8, 10]);
  assert.deepEqual(edits.get(`${L}.mlp.down_proj.ALinear.weight`)!.to, [16, 8]);
});

test("a plan whose from disagrees with the tensors is refused, not guessed around", () => {
  const m = tinyModel({ form: "dense", intermediate: 10 });
  assert.throws(
    () => tensorEdits(m.spec, [change({ kind: "intermediate", layer: 0 }, 12, 16)], "fold", shapeLookup(m.shapes)),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED" && /has 10/.test(e.message),
  );
});
