import assert from "node:assert/strict";
import {
  bytesToText,
  EventBuffer,
  eventData,
  firstBadEvent,
  lastEventEnd,
  splitEvents,
  textToBytes,
} from "../../src/openai/sse.ts";

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

Deno.test("EventBuffer and the event readers understand CR-only and mixed line endings, wherever the chunks split", () => {
  const text = 'data: {"a":1}\r\r: keep-alive\r\rdata: {"b":2}\r\n\r\ndata: x\rdata: y\r\rdata: [DONE]\n\r';
  const bytes = textToBytes(text + "next");
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const buf = new EventBuffer();
      let got = "";
      for (const c of [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]) {
        const complete = buf.push(c);
        if (complete) got += bytesToText(complete);
      }
      got += bytesToText(buf.take());
      assert.equal(got, text + "next", `no byte lost or added (${i}, ${j})`);
      const events = splitEvents(got);
      assert.deepEqual(events.map(eventData), ['{"a":1}', undefined, '{"b":2}', "x\ny", "[DONE]", undefined]);
    }
  }
  assert.equal(lastEventEnd(textToBytes("data: 1\r\r")), 9, "a CR-only event end at the end of a chunk");
  assert.equal(lastEventEnd(textToBytes("data: 1\n\r")), 0, "maybe the first half of a CRLF: wait");
  assert.equal(lastEventEnd(textToBytes("data: 1\r\n")), 0, "one line ending is not a blank line");
});

Deno.test("firstBadEvent: a byte check that each event's data is a JSON object or [DONE]", () => {
  const ok = [
    'data: {"a":1}\n\n',
    ": comment\n\nevent: x\nid: 1\n\n",
    'data:{"a":1}\r\rdata: [DONE]\r\n\r\n',
    'data:  {"a":\ndata: 1}  \n\n',
    'data: {"a":1}', // unterminated last event
    "",
  ];
  for (const t of ok) assert.equal(firstBadEvent(textToBytes(t)), -1, JSON.stringify(t));
  const bad: [string, number][] = [
    ['data: {"a":1}\n\ndata: <html>\n\n', 15],
    ['data: {"a":1}\r\rdata: {"cut\r\r', 15],
    ["data:\n\n", 0],
    ["data: [DONE] x\n\n", 0],
    ['data: {"a":1}\n\n: c\n\ndata: [DONE]\ndata: [DONE]\n\n', 20],
    ['data: {"a":1}\n\ndata: {"cut', 15],
  ];
  for (const [t, at] of bad) assert.equal(firstBadEvent(textToBytes(t)), at, JSON.stringify(t));
});
