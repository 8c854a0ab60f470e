import assert from "node:assert/strict";
import { bytesToText, EventBuffer, textToBytes } from "../../src/openai/sse.ts";

const TEXT = 'data: {"a":1}\n\n: keep-alive\n\ndata: {"b":2}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\ntail';

Deno.test("EventBuffer cuts at event ends wherever the chunks split, and keeps the rest", () => {
  const bytes = textToBytes(TEXT);
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j += 3) {
      const buf = new EventBuffer();
      const out: string[] = [];
      for (const c of [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]) {
        const complete = buf.push(c);
        if (complete) {
          const t = bytesToText(complete);
          assert.ok(/\n\r?\n$/.test(t), `cut at an event end (${i}, ${j})`);
          out.push(t);
        }
      }
      assert.equal(out.join(""), TEXT.slice(0, TEXT.lastIndexOf("\n") + 1), `split ${i}, ${j}`);
      assert.equal(buf.size, 4);
      assert.equal(bytesToText(buf.take()), "tail");
      assert.equal(buf.size, 0);
    }
  }
});

Deno.test("EventBuffer finds an event end spread over one-byte chunks", () => {
  const buf = new EventBuffer();
  assert.equal(buf.push(textToBytes("data: 1\n")), undefined);
  assert.equal(buf.push(textToBytes("\r")), undefined);
  assert.equal(buf.push(new Uint8Array(0)), undefined);
  assert.equal(bytesToText(buf.push(textToBytes("\nnext"))!), "data: 1\n\r\n");
  assert.equal(bytesToText(buf.take()), "next");
});
