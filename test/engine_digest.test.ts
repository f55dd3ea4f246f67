// The row digest: independent of row order and of where chunks are cut, sensitive to any byte.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RowDigest } from "../f/admin/lib/engine/digest.ts";

const digestOf = (chunks: string[]) => {
  const digest = new RowDigest();
  for (const chunk of chunks) digest.update(Buffer.from(chunk));
  return { rows: digest.rows, bytes: digest.bytes, hex: digest.hex() };
};

const rows = ["1\talice\t\\N\n", "2\tbob\tline\\nbreak\n", "3\t日本 🎉\t\\\\\n"];

test("the digest does not depend on row order", () => {
  assert.equal(digestOf(rows).hex, digestOf([...rows].reverse()).hex);
});

test("the digest does not depend on chunk boundaries", () => {
  const whole = rows.join("");
  const bytes = Buffer.from(whole);
  for (let cut = 1; cut < bytes.length; cut += 3) {
    const digest = new RowDigest();
    digest.update(bytes.subarray(0, cut));
    digest.update(bytes.subarray(cut));
    assert.equal(digest.hex(), digestOf([whole]).hex, `cut at ${cut}`);
  }
});

test("rows and bytes are counted", () => {
  const result = digestOf(rows);
  assert.equal(result.rows, 3);
  assert.equal(result.bytes, Buffer.byteLength(rows.join("")));
});

test("a changed byte, a missing row or a duplicated row changes the digest", () => {
  const base = digestOf(rows).hex;
  assert.notEqual(digestOf(["1\talice\t\\N\n", "2\tbob\tline\\nbreal\n", rows[2]!]).hex, base);
  assert.notEqual(digestOf(rows.slice(1)).hex, base);
  assert.notEqual(digestOf([...rows, rows[0]!]).hex, base);
  // Two equal rows must not cancel out (as they would with XOR).
  assert.notEqual(digestOf([rows[0]!, rows[0]!]).hex, digestOf([]).hex);
});

test("a stream cut in the middle of a row is an error, not a digest", () => {
  const digest = new RowDigest();
  digest.update(Buffer.from("1\tpartial"));
  assert.throws(() => digest.hex(), /middle of a row/);
});
