import assert from "node:assert/strict";
import { redactPatterns, SECRET_PATTERNS } from "../../src/security/patterns.ts";
import { createScrubber, REDACTED } from "../../src/security/scrub.ts";
import { redactBody } from "../../src/security/redact.ts";

const R = REDACTED;

Deno.test("secret shapes are redacted as whole tokens; shorter look-alikes stay", () => {
  const samples = [
    "sk-or-v1-" + "0123456789abcdef".repeat(4),
    "sk-" + "A".repeat(37),
    "sk-proj-" + "b_-9".repeat(10),
    "AIza" + "S".repeat(35),
    "ghp_" + "x".repeat(36),
    "gho_" + "y".repeat(36),
    "ghs_" + "z".repeat(36),
    "ghu_" + "w".repeat(36),
    "AKIA" + "ABCDEFGHIJ012345",
    "xoxb-" + "1234567890-abc",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-1",
  ];
  for (const s of samples) {
    const r = redactPatterns(`before ${s}, after`, R);
    assert.equal(r.text, `before ${R}, after`, s);
    assert.equal(r.n, 1);
  }
  const lookAlikes = [
    "sk-1",
    "sk-" + "A".repeat(36), // 39 characters
    "AKIA",
    "AKIA" + "abcdefghij012345", // lower case
    "AIza" + "S".repeat(34),
    "ghp_short",
    "xoxb-123",
    "x" + "AKIA" + "ABCDEFGHIJ012345", // not a whole token
    "AKIA" + "ABCDEFGHIJ012345" + "9", // longer token
    "eyJonly.one",
  ];
  for (const s of lookAlikes) assert.deepEqual(redactPatterns(`a ${s} b`, R), { text: `a ${s} b`, n: 0 }, s);
});

Deno.test("README lists every secret pattern", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  for (const p of SECRET_PATTERNS) {
    assert.ok(readme.includes(p.source.replaceAll("|", "\\|")), `README lacks ${p.source}`);
  }
});

Deno.test("exact key values in every text part and tool-call argument are redacted and counted", () => {
  const scrub = createScrubber(["secret-value-123456", "other-secret-98765"]);
  const body = {
    model: "m",
    messages: [
      { role: "system" as const, content: "sys secret-value-123456" },
      {
        role: "user" as const,
        content: [{ type: "text", text: "a other-secret-98765 b secret-value-123456" }, {
          type: "image_url",
          image_url: { url: "x" },
        }],
      },
      {
        role: "assistant" as const,
        content: null,
        tool_calls: [{
          id: "c",
          type: "function",
          function: { name: "f", arguments: '{"k":"secret-value-123456"}' },
        }],
      },
      { role: "tool" as const, tool_call_id: "c", content: "clean" },
    ],
  };
  const r = redactBody(body, scrub.count);
  assert.equal(r.n, 4);
  const json = JSON.stringify(r.body);
  assert.ok(!json.includes("secret-value-123456") && !json.includes("other-secret-98765"));
  assert.equal(r.body.messages[3], body.messages[3], "untouched messages are not copied");
  assert.equal(redactBody(body, createScrubber([]).count).body, body, "nothing to redact: same object");
});

Deno.test("key values in http image URLs, message names and the top-level user are redacted too", () => {
  const scrub = createScrubber(["secret-value-123456"]);
  const body = {
    model: "m",
    user: "u-secret-value-123456",
    messages: [{
      role: "user" as const,
      name: "secret-value-123456",
      content: [
        { type: "image_url", image_url: { url: "https://x.test/a.png?key=secret-value-123456" } },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
      ],
    }],
  };
  const r = redactBody(body, scrub.count);
  assert.equal(r.n, 3);
  assert.ok(!JSON.stringify(r.body).includes("secret-value-123456"));
  assert.equal(
    (r.body.messages[0].content as unknown as { image_url: { url: string } }[])[1].image_url.url,
    "data:image/png;base64,AAAA",
  );
});

Deno.test("every string sent upstream is redacted: tool_call_id, unknown message fields, metadata, nested unknown fields, object keys", () => {
  const scrub = createScrubber(["secret-value-123456"]);
  const s = "secret-value-123456";
  const body = JSON.parse(JSON.stringify({
    model: "m",
    metadata: { note: `k ${s}`, [s]: "as a key" },
    extra: { deep: [{ deeper: [`x${s}`] }] },
    stop: [s],
    messages: [
      { role: "tool", tool_call_id: `call_${s}`, content: "ok", custom_field: { a: s }, reasoning: s },
    ],
  }));
  const r = redactBody(body, scrub.count);
  assert.equal(r.n, 7);
  assert.ok(!JSON.stringify(r.body).includes(s), JSON.stringify(r.body));
  assert.equal(r.body.model, "m");
  assert.equal((r.body.metadata as Record<string, string>)[R], "as a key");
});

Deno.test("an own __proto__ field is redacted, not turned into a prototype; nesting depth cannot overflow the stack", () => {
  const scrub = createScrubber(["secret-value-123456"]);
  const body = JSON.parse(`{"model":"m","messages":[],"__proto__":"secret-value-123456"}`);
  const r = redactBody(body, scrub.count);
  assert.equal(r.n, 1);
  assert.equal(JSON.stringify(r.body), `{"model":"m","messages":[],"__proto__":"${R}"}`);

  const depth = 200_000;
  const deep = JSON.parse(
    `{"model":"m","messages":[],"x":${"[".repeat(depth)}"secret-value-123456"${"]".repeat(depth)}}`,
  );
  assert.equal(redactBody(deep, scrub.count).n, 1);
});

Deno.test("inline image, audio and file bytes get exact key values replaced but not secret shapes", () => {
  const seen: [string, boolean][] = [];
  const body = JSON.parse(JSON.stringify({
    model: "m",
    messages: [{
      role: "user",
      content: [
        { type: "image_url", image_url: { url: "data:image/png;base64,AKIAABCDEFGHIJ012345" } },
        { type: "image_url", image_url: { url: "https://x.test/AKIAABCDEFGHIJ012345" } },
        { type: "input_audio", input_audio: { data: "AKIAABCDEFGHIJ012345", format: "wav" } },
        { type: "file", file: { file_data: "data:application/pdf;base64,AAAA", filename: "a.pdf" } },
      ],
    }],
  }));
  redactBody(body, (text, binary) => {
    seen.push([text, binary]);
    return { text, n: 0 };
  });
  const binary = seen.filter(([, b]) => b).map(([t]) => t).sort();
  assert.deepEqual(binary, [
    "AKIAABCDEFGHIJ012345",
    "data:application/pdf;base64,AAAA",
    "data:image/png;base64,AKIAABCDEFGHIJ012345",
  ]);
  assert.ok(seen.some(([t, b]) => t === "https://x.test/AKIAABCDEFGHIJ012345" && !b), "http URLs are text");
});

Deno.test("a secret key over a value holding a secret: both replaced, each counted once", () => {
  const scrub = createScrubber(["secret-value-123456"]);
  const s = "secret-value-123456";
  const body = JSON.parse(JSON.stringify({
    model: "m",
    metadata: { [s]: { inner: `x ${s}` }, [`${s}-2`]: `y ${s}`, plain: "nothing here" },
  }));
  const r = redactBody(body, scrub.count);
  assert.equal(r.n, 4);
  assert.ok(!JSON.stringify(r.body).includes(s), JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body.metadata as object).sort(), [R, `${R}-2`, "plain"].sort());
});
