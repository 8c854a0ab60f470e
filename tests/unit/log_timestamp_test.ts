import assert from "node:assert/strict";
import { getTextFormatter, type LogRecord } from "@logtape/logtape";
import { utcTimestamp } from "../../src/log/log.ts";

/** LogTape's own default text formatter, the format the log had before the cached timestamp. */
const stock = getTextFormatter();
const line = (timestamp: number) =>
  stock(
    {
      category: ["x"],
      level: "info",
      message: ["m"],
      rawMessage: "m",
      timestamp,
      properties: {},
    } as LogRecord,
  );

Deno.test("utcTimestamp writes what LogTape's default formatter writes, across seconds, milliseconds and years", () => {
  const times = [
    0,
    5,
    50,
    999,
    1000,
    1001,
    1_733_238_257_005,
    1_733_238_257_050,
    1_733_238_257_344,
    253_402_300_799_999,
  ];
  // Sequences within one second and across a boundary, as a busy log sees them (the prefix is reused).
  for (let t = 1_764_774_000_990; t < 1_764_774_001_020; t++) times.push(t);
  let seed = 7;
  for (let i = 0; i < 2000; i++) times.push((seed = (seed * 48271) % 2147483647) * 1863);
  for (const t of times) assert.equal(line(t), `${utcTimestamp(t)} [INF] x: m\n`, `time ${t}`);
});
