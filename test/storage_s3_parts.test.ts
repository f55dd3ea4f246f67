// Multipart part sizes: the limits AWS enforces (s3rver enforces none of them), table-driven, and
// whole uploads simulated part by part up to 5 TB with right, low and unknown size estimates; and
// the growing parts of a streamed upload (no size known), which must hold 1 TB in bounded memory.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AWS_MAX_PARTS, MAX_ARCHIVE_BYTES, MAX_PART_BYTES, MIN_PART_BYTES, partSizeFor, plannedPartSize, sendsWhileFilling,
  streamedCapacity, streamedPartSize, STREAMED_PART_MEMORY_BYTES, type PartPlan } from "../f/admin/lib/storage/s3-parts.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("the planned part size fits the expected bytes in half the parts", () => {
  const cases: { expected: number; maxParts: number; size: number }[] = [
    { expected: 0, maxParts: AWS_MAX_PARTS, size: 5 * MiB },
    { expected: 1, maxParts: AWS_MAX_PARTS, size: 5 * MiB },
    { expected: 100_000_000, maxParts: AWS_MAX_PARTS, size: 5 * MiB },
    // 25 GiB / 5,000 parts = 5.12 MiB: rounded up to whole MiB.
    { expected: 25 * GiB, maxParts: AWS_MAX_PARTS, size: 6 * MiB },
    { expected: 25 * GiB, maxParts: 1000, size: 52 * MiB },
    { expected: MAX_ARCHIVE_BYTES, maxParts: AWS_MAX_PARTS, size: 954 * MiB },
    // 1,000-part providers: 5 TB needs parts at the 5 GiB ceiling.
    { expected: MAX_ARCHIVE_BYTES, maxParts: 1000, size: MAX_PART_BYTES },
    { expected: 40_000_000_000_000, maxParts: AWS_MAX_PARTS, size: MAX_PART_BYTES },
  ];
  for (const { expected, maxParts, size } of cases) {
    test(`${expected} bytes over ${maxParts} parts → ${size / MiB} MiB`, () => {
      assert.equal(plannedPartSize({ expectedBytes: expected, maxParts }), size);
    });
  }
});

/** The parts an upload of `actual` bytes is cut into, as the uploader asks for them. */
function simulate(plan: PartPlan, actual: number): number[] {
  const parts: number[] = [];
  let uploaded = 0;
  while (uploaded < actual) {
    const size = partSizeFor(plan, parts.length + 1, uploaded, parts.at(-1));
    if (size === 0) throw new Error(`out of parts after ${uploaded} bytes`);
    const part = Math.min(size, actual - uploaded);
    parts.push(part);
    uploaded += part;
  }
  return parts;
}

describe("whole uploads stay within the limits", () => {
  const cases: { title: string; expected: number; actual: number; maxParts: number; maxPartsUsed?: number; largestPart?: number }[] = [
    { title: "100 MB as expected: 5 MiB parts (memory stays small)", expected: 100_000_000, actual: 100_000_000, maxParts: AWS_MAX_PARTS,
      maxPartsUsed: 20, largestPart: 5 * MiB },
    { title: "5 TB as expected, AWS", expected: MAX_ARCHIVE_BYTES, actual: MAX_ARCHIVE_BYTES, maxParts: AWS_MAX_PARTS, maxPartsUsed: 5000 },
    { title: "5 TB as expected, 1,000-part provider", expected: MAX_ARCHIVE_BYTES, actual: MAX_ARCHIVE_BYTES, maxParts: 1000 },
    { title: "5 TB of unknown size, AWS", expected: 0, actual: MAX_ARCHIVE_BYTES, maxParts: AWS_MAX_PARTS },
    { title: "5 TB of unknown size, 1,000-part provider", expected: 0, actual: MAX_ARCHIVE_BYTES, maxParts: 1000 },
    { title: "5 TB expected as 100 MB: parts grow, AWS", expected: 100_000_000, actual: MAX_ARCHIVE_BYTES, maxParts: AWS_MAX_PARTS },
    { title: "5 TB expected as 1 TB: parts grow, AWS", expected: 1_000_000_000_000, actual: MAX_ARCHIVE_BYTES, maxParts: AWS_MAX_PARTS },
    { title: "5 TB expected as 100 MB: parts grow, 1,000-part provider", expected: 100_000_000, actual: MAX_ARCHIVE_BYTES, maxParts: 1000 },
    { title: "a 10 KB manifest", expected: 10_000, actual: 10_000, maxParts: AWS_MAX_PARTS, maxPartsUsed: 1 },
    { title: "an empty body", expected: 0, actual: 0, maxParts: AWS_MAX_PARTS, maxPartsUsed: 0 },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const parts = simulate({ expectedBytes: c.expected, maxParts: c.maxParts }, c.actual);
      assert.ok(parts.length <= c.maxParts, `${parts.length} parts`);
      if (c.maxPartsUsed !== undefined) {
        assert.ok(parts.length <= c.maxPartsUsed, `${parts.length} parts, expected at most ${c.maxPartsUsed}`);
      }
      assert.equal(parts.reduce((a, b) => a + b, 0), c.actual);
      parts.slice(0, -1).forEach((part, i) => {
        assert.ok(part >= MIN_PART_BYTES, `part ${i + 1} (${part} bytes) is below the 5 MiB minimum`);
        assert.ok(part <= MAX_PART_BYTES, `part ${i + 1} (${part} bytes) is above the 5 GiB maximum`);
        assert.ok(part <= parts[i + 1]! || i + 1 === parts.length - 1, `part ${i + 2} shrank`);
      });
      if (c.largestPart !== undefined) assert.ok(Math.max(...parts) <= c.largestPart);
    });
  }
});

test("no part is offered once the part numbers run out", () => {
  assert.equal(partSizeFor({ expectedBytes: 0, maxParts: 1000 }, 1001, MAX_ARCHIVE_BYTES), 0);
  assert.ok(partSizeFor({ expectedBytes: 0, maxParts: 1000 }, 1000, MAX_ARCHIVE_BYTES - MiB) >= MIN_PART_BYTES);
});

describe("streamed uploads: parts grow with the archive, 1 TB fits, memory stays bounded", () => {
  const cases: { part: number; maxParts: number; size: number }[] = [
    { part: 1, maxParts: AWS_MAX_PARTS, size: 8 * MiB },
    { part: 500, maxParts: AWS_MAX_PARTS, size: 8 * MiB },
    { part: 501, maxParts: AWS_MAX_PARTS, size: 16 * MiB },
    { part: 1001, maxParts: AWS_MAX_PARTS, size: 32 * MiB },
    { part: 1501, maxParts: AWS_MAX_PARTS, size: 64 * MiB },
    { part: 2001, maxParts: AWS_MAX_PARTS, size: 128 * MiB },
    { part: AWS_MAX_PARTS, maxParts: AWS_MAX_PARTS, size: 128 * MiB },
    { part: AWS_MAX_PARTS + 1, maxParts: AWS_MAX_PARTS, size: 0 },
    { part: 51, maxParts: 1000, size: 16 * MiB },
    { part: 1001, maxParts: 1000, size: 0 },
  ];
  for (const { part, maxParts, size } of cases) {
    test(`part ${part} of at most ${maxParts} → ${size / MiB} MiB`, () => assert.equal(streamedPartSize(part, maxParts), size));
  }

  test("10,000 parts hold 1 TB and 1 TiB; every part is within AWS's limits and none shrinks", () => {
    assert.ok(streamedCapacity(AWS_MAX_PARTS) >= 1024 * GiB, `${streamedCapacity(AWS_MAX_PARTS) / GiB} GiB`);
    let previous = 0;
    for (let part = 1; part <= AWS_MAX_PARTS; part++) {
      const size = streamedPartSize(part, AWS_MAX_PARTS);
      assert.ok(size >= MIN_PART_BYTES && size <= MAX_PART_BYTES && size >= previous, `part ${part}: ${size} bytes`);
      previous = size;
    }
  });

  test("a 1,000-part provider still holds 100 GiB streamed", () => assert.ok(streamedCapacity(1000) >= 100 * GiB));

  test("a part is sent while the next fills only while both fit the memory kept for parts", () => {
    assert.equal(STREAMED_PART_MEMORY_BYTES, 32 * MiB);
    assert.deepEqual([8, 16, 32, 64, 128].map((mib) => sendsWhileFilling(mib * MiB)), [true, true, false, false, false]);
    // Small archives (the first 500 + 500 parts, 11.7 GiB) are sent while the dump goes on.
    assert.equal(sendsWhileFilling(streamedPartSize(1000, AWS_MAX_PARTS)), true);
    assert.equal(sendsWhileFilling(streamedPartSize(1001, AWS_MAX_PARTS)), false);
  });
});
