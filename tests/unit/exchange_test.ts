/**
 * The runner of an HTTP provider's attempt (`runExchange`), driven through a fake upstream client: a toy
 * provider declares its exchange (a translated way and a pass-through way), and each row of the table is one
 * upstream answer and what the attempt must make of it.
 */
import assert from "node:assert/strict";
import type { AttemptResult, UpstreamFailure } from "../../src/runner/backend.ts";
import { CHAT_DIALECT } from "../../src/runner/commit.ts";
import { type HttpExchange, runExchange } from "../../src/runner/exchange.ts";
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from "../../src/runner/upstream_client.ts";
import { createScrubber, REDACTED } from "../../src/security/scrub.ts";
import type { ChatRequest } from "../../src/model/request.ts";
import type { ModelEvent, StreamMeta } from "../../src/model/events.ts";
import { renderEvents } from "../../src/model/render.ts";
import { resultChoice } from "../../src/model/result.ts";
import { ChatRenderer } from "../../src/frontends/chat/stream.ts";

const KEY = "toy-secret-key-0123456789abcdef";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The toy's "cannot send this request" error. */
class ToyRefusal extends Error {}

/** One upstream answer as the fake client gives it: status, headers, body in chunks. */
function upstream(status: number, chunks: string[], headers: Record<string, string>): UpstreamResponse {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const s of chunks) c.enqueue(enc.encode(s));
      c.close();
    },
  });
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: new Headers(headers),
    body,
    text: () => new Response(body).text(),
    discard: () => void body.cancel().catch(() => {}),
  };
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
  upstream(status, [typeof value === "string" ? value : JSON.stringify(value)], {
    "content-type": "application/json",
    ...headers,
  });
const sse = (...events: string[]) =>
  upstream(200, events.map((e) => `data: ${e}\n\n`), { "content-type": "text/event-stream" });

/** The proxy's upstream client, faked: it records each POST and answers with `reply`. */
class FakeUpstream implements UpstreamClient {
  readonly maxBodyBytes = 1024 * 1024;
  readonly posts: { url: string; headers: Record<string, string>; body: Record<string, unknown> }[] = [];
  constructor(private readonly reply: () => UpstreamResponse | Error) {}
  post(url: string, req: UpstreamRequest): Promise<UpstreamResponse> {
    this.posts.push({ url, headers: req.headers, body: JSON.parse(req.body) });
    const r = this.reply();
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  }
  get(): Promise<UpstreamResponse> {
    return Promise.reject(new Error("no listing here"));
  }
  close() {}
}

/** The toy upstream's error rule: the status and the (scrubbed) text, next key. */
function toyFailure(status: number, text: string, label: string | undefined): UpstreamFailure {
  return {
    action: status === 400 ? "return" : "next-key",
    status: status === 400 ? 400 : 502,
    type: "api_error",
    code: "toy_error",
    message: `toy answered ${status} for ${label}: ${text}`,
    outcome: String(status),
  };
}

/**
 * The toy upstream's stream translation into the model's events: each `{"t":…}` event becomes text, `{"err":…}`
 * an in-band error, `{"u":n}` the usage; the end finishes the answer.
 */
function toyTranslate(body: ReadableStream<Uint8Array>, _meta: StreamMeta, touch: () => void) {
  let rest = "";
  return body.pipeThrough(
    new TransformStream<Uint8Array, ModelEvent>({
      transform(bytes, c) {
        touch();
        rest += dec.decode(bytes, { stream: true });
        const events = rest.split("\n\n");
        rest = events.pop()!;
        for (const e of events) {
          const ev = JSON.parse(e.replace(/^data: /, ""));
          if (ev.t !== undefined) c.enqueue({ type: "text", choice: 0, text: ev.t });
          if (ev.err !== undefined) c.enqueue({ type: "error", error: { message: ev.err } });
          if (ev.u !== undefined) {
            c.enqueue({
              type: "usage",
              usage: { promptTokens: ev.u, completionTokens: 1, totalTokens: ev.u + 1 },
            });
          }
        }
      },
      flush(c) {
        c.enqueue({ type: "finish", choice: 0, reason: "stop" });
      },
    }),
  );
}

let translations = 0;

/** The toy provider's exchange: a translated way and a pass-through way for Responses clients. */
const TOY: HttpExchange<{ prompt: string }> = {
  name: "toy",
  translate(body) {
    translations++;
    const prompt = body.messages.map((m) => String(m.content)).join("\n");
    if (prompt.includes("refuse")) throw new ToyRefusal("the toy refuses this prompt");
    return { prompt };
  },
  refusal: ToyRefusal,
  chat: {
    call: (input, t) =>
      input.model === "bad/model" ? { refused: "The model name cannot be sent.", outcome: "bad_model" } : {
        url: "https://toy.test/v1/generate",
        headers: { "x-toy-key": input.key?.value ?? "" },
        body: { model: input.model, prompt: t.prompt, stream: input.stream },
      },
    answer(j) {
      const r = j as { output?: unknown; error?: unknown; tokens?: number } | null;
      if (r?.error) return { kind: "error", error: r.error };
      if (typeof r?.output !== "string") return { kind: "bad", what: "without an output" };
      const usage = { promptTokens: r.tokens ?? 0, completionTokens: 1, totalTokens: (r.tokens ?? 0) + 1 };
      return {
        kind: "result",
        result: {
          meta: { id: "toy-answer", created: 1, model: "toy-1" },
          choices: [resultChoice(0, "stop", { text: r.output })],
          usage,
        },
      };
    },
    stream: { translate: toyTranslate },
  },
  native: {
    protocol: "responses",
    call: (input, native) => ({
      url: "https://toy.test/v1/native",
      headers: { "x-toy-key": input.key?.value ?? "", ...native.headers },
      body: { ...native.body, model: input.model },
    }),
    answer(j) {
      const r = j as { object?: unknown; model?: string } | null;
      if (r?.object !== "native") return { kind: "bad", what: "with something that is not native" };
      return {
        kind: "passed",
        usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
        model: r.model,
      };
    },
    stream: { dialect: CHAT_DIALECT },
  },
  classifyStatus: (status, _headers, text, label) => toyFailure(status, text, label),
  classifyInBand: (error, label) => ({
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "toy_in_band",
    message: `toy failed in band for ${label}: ${JSON.stringify(error)}`,
    outcome: "in_band",
  }),
  rateLimitHeaders: true,
};

const NATIVE_BODY = { input: "hi", unknown_field: { kept: true } };

/** One attempt of the toy with `reply` as the upstream's answer. */
async function attempt(
  reply: () => UpstreamResponse | Error,
  o: { prompt?: string; stream?: boolean; native?: boolean; model?: string; includeUsage?: boolean } = {},
): Promise<{ result: AttemptResult; fake: FakeUpstream; text?: string }> {
  const fake = new FakeUpstream(reply);
  const run = runExchange(TOY, { scrub: createScrubber([KEY]), client: fake });
  const body: ChatRequest = {
    model: "client-model",
    messages: [{ role: "user", content: o.prompt ?? "hello" }],
    ...(o.includeUsage ? { stream_options: { include_usage: true } } : {}),
  };
  const result = await run.attempt({
    body,
    model: o.model ?? "toy-1",
    key: { label: "TOY_API_KEY_1", value: KEY },
    stream: o.stream ?? false,
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    ...(o.native
      ? { native: { protocol: "responses", body: NATIVE_BODY, headers: { "x-native": "yes" } } }
      : {}),
  });
  // A translated stream as the Chat front end renders it; a passed-through one as its bytes.
  const text = !result.ok
    ? undefined
    : result.value.kind === "stream"
    ? await new Response(result.value.stream).text()
    : result.value.kind === "events"
    ? await new Response(
      renderEvents(result.value.events, new ChatRenderer(result.value.meta, o.includeUsage === true)),
    ).text()
    : undefined;
  return { result, fake, text };
}

/** The failure of `r`, or a failed assertion. */
function failureOf(r: AttemptResult): UpstreamFailure {
  assert.ok(!r.ok, "the attempt failed");
  return r.failure;
}

const unreachable = () => new Error("the upstream must not be called");

Deno.test("runner: what each upstream answer makes of an attempt", async (t) => {
  const rows: { name: string; run: () => Promise<void> }[] = [
    {
      name: "a request the translation refuses is a 400 before any call",
      run: async () => {
        const { result, fake } = await attempt(unreachable, { prompt: "please refuse" });
        const f = failureOf(result);
        assert.deepEqual([f.action, f.status, f.code, f.outcome], [
          "return",
          400,
          "invalid_request",
          "unsupported",
        ]);
        assert.equal(f.message, "The toy backend cannot send this request: the toy refuses this prompt");
        assert.equal(fake.posts.length, 0);
      },
    },
    {
      name: "a call the provider refuses (its model) is a 400 with the provider's outcome, before any call",
      run: async () => {
        const { result, fake } = await attempt(unreachable, { model: "bad/model" });
        const f = failureOf(result);
        assert.deepEqual([f.status, f.code, f.outcome], [400, "invalid_request", "bad_model"]);
        assert.equal(f.message, "The model name cannot be sent.");
        assert.equal(fake.posts.length, 0);
      },
    },
    {
      name: "the call goes out as the way built it (url, headers with the key, JSON body)",
      run: async () => {
        const { fake } = await attempt(() => json(200, { output: "ok" }));
        assert.deepEqual(fake.posts, [{
          url: "https://toy.test/v1/generate",
          headers: { "x-toy-key": KEY },
          body: { model: "toy-1", prompt: "hello", stream: false },
        }]);
      },
    },
    {
      name: "an error status is the provider's classification of its scrubbed text",
      run: async () => {
        const { result } = await attempt(() => json(429, `{"error":"slow down, ${KEY}"}`));
        const f = failureOf(result);
        assert.deepEqual([f.action, f.status, f.code, f.outcome], ["next-key", 502, "toy_error", "429"]);
        assert.ok(f.message.startsWith("toy answered 429 for TOY_API_KEY_1: "), f.message);
        assert.ok(f.message.includes(REDACTED) && !f.message.includes(KEY), f.message);
      },
    },
    {
      name: "a transport failure is a 502 connection failure, next key",
      run: async () => {
        const { result } = await attempt(() =>
          Object.assign(new TypeError("refused"), { code: "ECONNREFUSED" })
        );
        const f = failureOf(result);
        assert.deepEqual([f.action, f.status, f.outcome], ["next-key", 502, "connection"]);
        assert.match(
          f.message,
          /toy could not be reached at https:\/\/toy\.test\/v1\/generate \(ECONNREFUSED\)/,
        );
      },
    },
    {
      name: "a 200 that is not JSON is a bad answer, next key",
      run: async () => {
        const { result } = await attempt(() => json(200, "<html>oops</html>"));
        const f = failureOf(result);
        assert.deepEqual([f.action, f.status, f.outcome], ["next-key", 502, "bad_answer"]);
        assert.equal(f.message, "toy answered 200 with a body that is not JSON.");
      },
    },
    {
      name: "a 200 the provider cannot read is a bad answer in its words",
      run: async () => {
        const { result } = await attempt(() => json(200, { nothing: true }));
        const f = failureOf(result);
        assert.deepEqual([f.status, f.outcome], [502, "bad_answer"]);
        assert.equal(f.message, "toy answered 200 without an output.");
      },
    },
    {
      name: "an in-band error in a 200 body is the provider's in-band classification, scrubbed",
      run: async () => {
        const { result } = await attempt(() => json(200, { error: { message: `bad key ${KEY}` } }));
        const f = failureOf(result);
        assert.deepEqual([f.code, f.outcome], ["toy_in_band", "in_band"]);
        assert.ok(f.message.includes(REDACTED) && !f.message.includes(KEY), f.message);
      },
    },
    {
      name: "a JSON answer translated is the model's result, its usage for the record, and the key's budget",
      run: async () => {
        const { result } = await attempt(() =>
          json(200, { output: "hi there", tokens: 7 }, {
            "x-ratelimit-remaining": "9",
            "x-ratelimit-reset": "60",
          })
        );
        assert.ok(result.ok && result.value.kind === "result");
        const v = result.value;
        assert.deepEqual(v.result.choices.map((c) => [c.text, c.finish]), [["hi there", "stop"]]);
        assert.equal(v.result.meta.model, "toy-1");
        assert.deepEqual(v.usage, { promptTokens: 7, completionTokens: 1, totalTokens: 8 });
        assert.equal(v.protocol, undefined);
        assert.equal(v.rateLimit?.remaining, 9);
      },
    },
    {
      name: "a JSON answer passed through keeps its bytes and says its protocol",
      run: async () => {
        const raw = '{"object":"native","model":"toy-1-0815",  "extra":[1,2]}';
        const { result, fake } = await attempt(() => json(200, raw), { native: true });
        assert.deepEqual(fake.posts[0], {
          url: "https://toy.test/v1/native",
          headers: { "x-toy-key": KEY, "x-native": "yes" },
          body: { ...NATIVE_BODY, model: "toy-1" },
        });
        assert.ok(result.ok && result.value.kind === "json");
        assert.equal(result.value.text, raw);
        assert.equal(result.value.protocol, "responses");
        assert.equal(result.value.model, "toy-1-0815");
        assert.deepEqual(result.value.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
      },
    },
    {
      name: "a pass-through answer the provider cannot read is a bad answer",
      run: async () => {
        const { result } = await attempt(() => json(200, { object: "other" }), { native: true });
        assert.equal(failureOf(result).message, "toy answered 200 with something that is not native.");
      },
    },
    {
      name:
        "a stream translated is committed: the model's events (a Chat client gets Chat SSE), the record the usage",
      run: async () => {
        const { result, text } = await attempt(() => sse('{"t":"Hel"}', '{"t":"lo"}', '{"u":4}'), {
          stream: true,
        });
        assert.ok(result.ok && result.value.kind === "events");
        assert.equal(result.value.meta.model, "toy-1");
        assert.equal(result.value.protocol, undefined);
        const contents = text!.split("\n\n").filter((e) => e.includes('"content"')).map((e) =>
          JSON.parse(e.slice(6)).choices[0].delta.content
        );
        assert.deepEqual(contents, ["", "Hel", "lo"], "the role chunk, then the text");
        assert.ok(!text!.includes('"usage"'), "the client did not ask for usage");
        assert.ok(text!.endsWith("data: [DONE]\n\n"));
        const summary = await result.value.done;
        assert.deepEqual(summary.usage, { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 });
      },
    },
    {
      name: "a stream translated keeps the usage chunk for a client that asked for it",
      run: async () => {
        const { text } = await attempt(() => sse('{"t":"a"}', '{"u":4}'), {
          stream: true,
          includeUsage: true,
        });
        assert.ok(text!.includes('"usage"'));
      },
    },
    {
      name: "a stream passed through keeps its bytes and says its protocol",
      run: async () => {
        const events = [
          '{"choices":[{"index":0,"delta":{"content":"x"},"weird":1}]}',
          '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
          "[DONE]",
        ];
        const { result, text } = await attempt(() => sse(...events), {
          stream: true,
          native: true,
          includeUsage: true,
        });
        assert.ok(result.ok && result.value.kind === "stream");
        assert.equal(result.value.protocol, "responses");
        assert.equal(text, events.map((e) => `data: ${e}\n\n`).join(""));
        assert.equal((await result.value.done).usage?.total_tokens, 2);
      },
    },
    {
      name: "an in-band error before the commit fails the attempt (translated stream), scrubbed",
      run: async () => {
        const { result } = await attempt(() => sse(`{"err":"quota for ${KEY}"}`, '{"t":"late"}'), {
          stream: true,
        });
        const f = failureOf(result);
        assert.deepEqual([f.action, f.code, f.outcome], ["next-key", "toy_in_band", "in_band"]);
        assert.ok(f.message.includes(REDACTED) && !f.message.includes(KEY), f.message);
      },
    },
    {
      name: "an in-band error before the commit fails the attempt (stream passed through)",
      run: async () => {
        const { result } = await attempt(() => sse(`{"error":{"message":"no ${KEY}"}}`), {
          stream: true,
          native: true,
        });
        const f = failureOf(result);
        assert.equal(f.code, "toy_in_band");
        assert.ok(!f.message.includes(KEY), f.message);
      },
    },
    {
      name: "an error status to a streamed request is classified like any other",
      run: async () => {
        const { result } = await attempt(() => json(400, "no such thing"), { stream: true });
        const f = failureOf(result);
        assert.deepEqual([f.action, f.status, f.outcome], ["return", 400, "400"]);
      },
    },
  ];
  for (const row of rows) await t.step(row.name, row.run);
});

Deno.test("runner: a body is translated once for the check and every attempt; the check says why it is refused", async () => {
  const fake = new FakeUpstream(() => json(200, { output: "ok" }));
  const run = runExchange(TOY, { scrub: createScrubber([KEY]), client: fake });
  const body: ChatRequest = { model: "m", messages: [{ role: "user", content: "hello" }] };
  translations = 0;
  assert.equal(run.unsupported(body), undefined);
  for (const model of ["toy-1", "toy-2"]) {
    const r = await run.attempt({
      body,
      model,
      key: undefined,
      stream: false,
      signal: new AbortController().signal,
      timeoutMs: 10_000,
    });
    assert.ok(r.ok);
  }
  assert.deepEqual(run.translation(body), { prompt: "hello" });
  assert.equal(translations, 1);
  const refused: ChatRequest = { model: "m", messages: [{ role: "user", content: "refuse" }] };
  assert.equal(
    run.unsupported(refused),
    "The toy backend cannot send this request: the toy refuses this prompt",
  );
  assert.equal(run.translation(refused), undefined);
  assert.equal(translations, 2);
  // The translation is kept with the body, invisibly: not sent, not carried into a copy (the body a command edited
  // is a spread of the client's).
  assert.equal(JSON.stringify(body), '{"model":"m","messages":[{"role":"user","content":"hello"}]}');
  assert.deepEqual(Object.keys(body), ["model", "messages"]);
  const copy = { ...body, messages: [{ role: "user" as const, content: "[REDACTED]" }] };
  assert.deepEqual(run.translation(copy), { prompt: "[REDACTED]" });
  assert.equal(translations, 3);
  // Another exchange translates the same body for itself; a frozen body is translated each time.
  const other = runExchange(TOY, { scrub: createScrubber([KEY]), client: fake });
  assert.deepEqual(other.translation(body), { prompt: "hello" });
  assert.equal(translations, 4);
  const frozen = Object.freeze({ model: "m", messages: [{ role: "user", content: "cold" }] }) as ChatRequest;
  assert.deepEqual(run.translation(frozen), { prompt: "cold" });
  assert.deepEqual(run.translation(frozen), { prompt: "cold" });
  assert.equal(translations, 6);
});
