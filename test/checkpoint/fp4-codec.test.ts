import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeE2M1, decodeE4M3, decodeE8M0, E2M1_VALUES, encodeE2M1, encodeE4M3, encodeE8M0, packE2M1, unpackE2M1 } from "../../src/checkpoint/fp4-codec.js";

test("all 16 E2M1 codes decode to the OCP table and encode back to themselves", () => {
  assert.deepEqual([...Array(16).keys()].map(decodeE2M1), [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
  for (let c = 0; c < 16; c++) assert.equal(encodeE2M1(E2M1_VALUES[c]), c, `code ${c}`);
  assert.ok(Object.is(decodeE2M1(8), -0));
});

test("E2M1 rounds to nearest with ties to the even code, and saturates at 6", () => {
  const cases: [number, number][] = [
    [0.25, 0],
    [0.26, 0.5],
    [0.75, 1],
    [1.25, 1],
    [1.75, 2],
    [2.5, 2],
    [3.5, 4],
    [5, 4],
    [5.01, 6],
    [7, 6],
    [1e9, 6],
    [-0.75, -1],
    [-5, -4],
  ];
  for (const [x, want] of cases) assert.equal(decodeE2M1(encodeE2M1(x)), want, `${x}`);
  assert.throws(() => encodeE2M1(Number.NaN), /no NaN/);
});

test("E4M3 (fn) decodes every code, keeps 448 as its largest value and S.1111.111 as NaN, and round-trips every finite code", () => {
  assert.equal(decodeE4M3(0x7e), 448);
  assert.ok(Number.isNaN(decodeE4M3(0x7f)) && Number.isNaN(decodeE4M3(0xff)));
  assert.equal(decodeE4M3(0x01), 2 ** -9); // smallest subnormal
  assert.equal(decodeE4M3(0x08), 2 ** -6); // smallest normal
  assert.equal(decodeE4M3(0x38), 1);
  for (let c = 0; c < 256; c++) {
    if ((c & 0x7f) === 0x7f) continue;
    assert.equal(encodeE4M3(decodeE4M3(c)), c, `code ${c.toString(16)}`);
  }
  // 1 + 1/16 is halfway between 1 (mantissa 000) and 1.125 (001): ties go to the even mantissa.
  assert.equal(decodeE4M3(encodeE4M3(1 + 1 / 16)), 1);
  assert.equal(decodeE4M3(encodeE4M3(1 + 3 / 16)), 1.25);
  assert.equal(decodeE4M3(encodeE4M3(1000)), 448);
  assert.equal(encodeE4M3(Number.NaN), 0x7f);
});

test("E8M0 holds exactly the powers of two 2^-127..2^127 and NaN at 255", () => {
  assert.equal(decodeE8M0(127), 1);
  assert.equal(decodeE8M0(0), 2 ** -127);
  assert.equal(decodeE8M0(254), 2 ** 127);
  assert.ok(Number.isNaN(decodeE8M0(255)));
  for (let e = 0; e < 255; e++) assert.equal(encodeE8M0(decodeE8M0(e)), e);
  assert.throws(() => encodeE8M0(3), /not among them/);
  assert.throws(() => encodeE8M0(0), /positive powers of two/);
});

test("E2M1 codes pack two per byte, element 2i in the low nibble, and unpack in the same order", () => {
  const codes = [1, 2, 15, 0, 7, 8];
  const packed = packE2M1(codes);
  assert.deepEqual([...packed], [0x21, 0x0f, 0x87]);
  assert.deepEqual([...unpackE2M1(packed)], codes);
  assert.throws(() => packE2M1([1, 2, 3]), /odd/);
});
