/**
 * A committed stream whose upstream misbehaves at the transport or framing level: a connection that breaks
 * mid-stream (passed through and translated), a last event without its blank line. The client gets clean
 * events in its protocol and the upstream's response resource is released (the test sanitizers check it).
 */
import assert from "node:assert/strict";
import { chunkEvent as chunk } from "../mocks/openai_upstream.ts";
import { messageEvents, MockAnthropic } from "../mocks/anthropic_upstream.ts";
import { sdkStreamUntilError, startTestProxy, withOpenRouter } from "../helpers.ts";

const enc = new TextEncoder();

/** A stream that sends `head`, then fails (the server then drops the connection mid-body). */
function breaksAfter(head: string): Response {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent) return c.error(new Error("connection lost"));
      sent = true;
      c.enqueue(enc.encode(head));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

const chatRequest = (model: string) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }], stream: true }),
});

Deno.test("an upstream connection that breaks after the commit: one error event, the upstream's body released", async () => {
  await withOpenRouter(async (p, mock) => {
    mock.onChat = () => breaksAfter(chunk("partial") + "\n\n");
    const text = await (await p.fetch("/v1/chat/completions", chatRequest("m"))).text();
    assert.match(text, /"content":"partial"/);
    assert.match(text, /The upstream connection failed during the stream/);
    // The sanitizers fail this test if the proxy left the upstream's response body open.
  });
});

Deno.test("a translated upstream connection that breaks after the commit: one error event, the upstream's body released", async () => {
  const mock = MockAnthropic.start();
  const p = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY_1: "sk-ant-api03-" + "1".repeat(40),
  });
  try {
    // message_start … the text deltas, then the connection breaks before the message ends.
    const events = messageEvents("claude-sonnet-4-5", "partial answer").slice(0, 5);
    mock.onMessages = () => breaksAfter(events.map((e) => e + "\n\n").join(""));
    const text = await (await p.fetch("/v1/chat/completions", chatRequest("anthropic:claude-sonnet-4-5")))
      .text();
    assert.match(text, /"content":"partial "/);
    assert.match(text, /The upstream connection failed during the stream/);
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("a last event without its blank line reaches the client as an event of its own, before the cut-off error", async () => {
  await withOpenRouter(async (p, mock) => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const usageOnly = `data: ${
      JSON.stringify({ id: "g", object: "chat.completion.chunk", choices: [], usage })
    }`;
    // The upstream closes right after a usage chunk it did not end (no finish reason, no [DONE]).
    mock.onChat = () =>
      new Response(chunk("Hi") + "\n\n" + usageOnly, { headers: { "content-type": "text/event-stream" } });
    const stream = await p.client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let seen: unknown;
    const err = await (async () => {
      for await (const c of stream) seen ??= c.usage ?? undefined;
    })().catch((e) => e);
    assert.deepEqual(seen, usage, "the usage chunk arrives");
    assert.match(String(err?.message), /cut off/, "then the cut-off error, as its own event");

    // The same with a content chunk last: its text arrives, then the cut-off error.
    mock.onChat = () =>
      new Response(chunk("Hel") + "\n\n" + chunk("lo"), { headers: { "content-type": "text/event-stream" } });
    const cut = await sdkStreamUntilError(p);
    assert.equal(cut.text, "Hello");
    assert.match(String((cut.err as Error)?.message), /cut off/);
  });
});

/**
 * An upstream that answers `writes` (each its own write), then what `next` gives (until it gives nothing), and
 * then stays open, sending a keep-alive comment every 50 ms until it is cancelled; `cancelled` counts the
 * cancels.
 */
function staysOpenAfter(
  writes: string[],
  cancelled: { n: number },
  next?: () => Promise<string | undefined>,
): Response {
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(c) {
        if (i < writes.length) return c.enqueue(enc.encode(writes[i++]));
        const more = await next?.();
        if (more !== undefined) return c.enqueue(enc.encode(more));
        await new Promise((r) => (timer = setTimeout(r, 50)));
        c.enqueue(enc.encode(": still here\n\n"));
      },
      cancel() {
        clearTimeout(timer);
        cancelled.n++;
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

/**
 * The client's whole answer from `fetchText`, which must end within 5 s: a client held open after the answer's
 * end fails here, not at --timeout (the keep-alives keep the watchdog from firing at all).
 */
async function endsInTime(
  label: string,
  fetchText: (signal: AbortSignal) => Promise<string>,
): Promise<string> {
  const ctl = new AbortController();
  const bound = setTimeout(
    () => ctl.abort(new Error(`${label}: the stream did not end at the answer's end`)),
    5000,
  );
  try {
    return await fetchText(ctl.signal);
  } finally {
    clearTimeout(bound);
  }
}

/** Bounded polling: the upstream request must be ended within a few seconds of the answer's end. */
async function upstreamEnded(label: string, cancelled: { n: number }): Promise<void> {
  for (let k = 0; k < 100 && cancelled.n === 0; k++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(cancelled.n, 1, `${label}: the upstream request was ended`);
}

Deno.test("chat ← Chat upstream that stays open after [DONE]: the client's stream ends at [DONE], whole, and the upstream request is ended soon after", async () => {
  // The pass-through read until the upstream closed: keep-alives after [DONE] held the client until --timeout,
  // and then ended a whole answer with an error event (and a usage record of stream_error).
  const events = [chunk("hello") + "\n\n", chunk("", "stop") + "\n\n", "data: [DONE]\n\n"];
  await withOpenRouter(async (p, mock) => {
    // Each event its own write, then all in one write (the answer ends in the chunk that commits it).
    for (const [n, writes] of [events, [events.join("")]].entries()) {
      const cancelled = { n: 0 };
      mock.onChat = () => staysOpenAfter(writes, cancelled);
      const text = await endsInTime(
        `case ${n}`,
        async (signal) =>
          await (await p.fetch("/v1/chat/completions", { ...chatRequest("m"), signal })).text(),
      );
      assert.match(text, /"content":"hello"/);
      assert.match(text, /data: \[DONE\]\n\n$/, `case ${n}: the answer ends at [DONE]`);
      assert.doesNotMatch(text, /"error"|still here/, `case ${n}: nothing after the end`);
      await upstreamEnded(`case ${n}`, cancelled);
    }
  });
});

Deno.test("messages ← Anthropic upstream that stays open after message_stop: the passed-through stream ends at message_stop, and the upstream request is ended", async () => {
  const mock = MockAnthropic.start();
  const p = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY_1: "sk-ant-api03-" + "1".repeat(40),
  });
  try {
    const events = messageEvents("claude-sonnet-4-5", "hello there").map((e) => e + "\n\n");
    for (const [n, writes] of [events, [events.join("")]].entries()) {
      const cancelled = { n: 0 };
      mock.onMessages = () => staysOpenAfter(writes, cancelled);
      const text = await endsInTime(`case ${n}`, async (signal) =>
        await (await p.fetch("/v1/messages", {
          method: "POST",
          headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
          body: JSON.stringify({
            model: "anthropic:claude-sonnet-4-5",
            max_tokens: 64,
            messages: [{ role: "user", content: "x" }],
            stream: true,
          }),
          signal,
        })).text());
      assert.match(text, /"text":"hello "/);
      assert.match(
        text,
        /event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/,
        `case ${n}: ends there`,
      );
      assert.doesNotMatch(text, /event: error|still here/, `case ${n}: nothing after the end`);
      await upstreamEnded(`case ${n}`, cancelled);
    }
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("responses ← Responses upstream that stays open after response.completed: the passed-through stream ends there, and the upstream request is ended", async () => {
  const ev = (type: string, seq: number, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...data })}\n\n`;
  const response = { id: "resp_up", object: "response", created_at: 1, model: "gpt-4o-mini", output: [] };
  const events = [
    ev("response.created", 0, { response: { ...response, status: "in_progress" } }),
    ev("response.output_text.delta", 1, {
      item_id: "msg_up",
      output_index: 0,
      content_index: 0,
      delta: "hello",
    }),
    ev("response.completed", 2, {
      response: {
        ...response,
        status: "completed",
        usage: { input_tokens: 2, output_tokens: 1, total_tokens: 3 },
      },
    }),
  ];
  let answer = (): Response => new Response(null, { status: 500 });
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    // The proxy lists the backend's models too (GET /models): that one answers and ends.
    if (req.method === "GET") {
      return Response.json({ object: "list", data: [{ id: "gpt-4o-mini", object: "model" }] });
    }
    await req.body?.cancel();
    return answer();
  });
  const p = await startTestProxy(["--disable-auth"], {
    OPENAI_API_BASE_URL: `http://127.0.0.1:${upstream.addr.port}/v1`,
    OPENAI_API_KEY_1: "sk-proj-" + "a".repeat(48),
  });
  try {
    for (const [n, writes] of [events, [events.join("")]].entries()) {
      const cancelled = { n: 0 };
      answer = () => staysOpenAfter(writes, cancelled);
      const text = await endsInTime(`case ${n}`, async (signal) =>
        await (await p.fetch("/v1/responses", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "openai:gpt-4o-mini", input: "x", stream: true, store: false }),
          signal,
        })).text());
      assert.match(text, /"delta":"hello"/);
      assert.match(text, /event: response\.completed\ndata: [^\n]*\n\n$/, `case ${n}: ends there`);
      assert.doesNotMatch(text, /response\.failed|still here/, `case ${n}: nothing after the end`);
      await upstreamEnded(`case ${n}`, cancelled);
    }
  } finally {
    await p.close();
    await upstream.shutdown();
  }
});

Deno.test("messages ← Anthropic passed through: a message_stop string in an earlier event does not end the stream; the real one does, and the answer is recorded ok with its tokens", async () => {
  // The end is decided by the parsed event's type, not by the byte marker that only makes an event read: a
  // stop sequence named "message_stop" puts that string, unescaped, into the message_delta before the end.
  // The upstream sends the real message_stop only once the client has the message_delta, so the two cannot
  // share a read.
  const mock = MockAnthropic.start();
  const p = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY_1: "sk-ant-api03-" + "1".repeat(40),
  });
  try {
    const events = messageEvents("claude-sonnet-4-5", "say message_stop twice").map((e) =>
      e.replace(
        '"stop_reason":"end_turn","stop_sequence":null',
        '"stop_reason":"stop_sequence","stop_sequence":"message_stop"',
      ) +
      "\n\n"
    );
    const stop = events.pop()!;
    assert.match(stop, /^event: message_stop\n/);
    assert.match(events.at(-1)!, /"stop_sequence":"message_stop"/);
    const delivered = Promise.withResolvers<void>();
    const cancelled = { n: 0 };
    let gated = true;
    mock.onMessages = () =>
      staysOpenAfter(events, cancelled, async () => {
        if (!gated) return undefined;
        gated = false;
        await delivered.promise;
        return stop;
      });
    const text = await endsInTime("stop sequence", async (signal) => {
      const res = await p.fetch("/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({
          model: "anthropic:claude-sonnet-4-5",
          max_tokens: 64,
          stop_sequences: ["message_stop"],
          messages: [{ role: "user", content: "x" }],
          stream: true,
        }),
        signal,
      });
      let text = "";
      for await (const piece of res.body!.pipeThrough(new TextDecoderStream())) {
        text += piece;
        if (text.includes('"stop_sequence":"message_stop"')) delivered.resolve();
      }
      delivered.resolve();
      return text;
    });
    assert.match(text, /"text":"twice"/);
    assert.match(
      text,
      /event: message_stop\ndata: \{"type":"message_stop"\}\n\n$/,
      "ends at the real message_stop",
    );
    await upstreamEnded("stop sequence", cancelled);
    const recent = await (await p.fetch("/usage/recent?limit=1")).json();
    const r = recent.data[0];
    assert.deepEqual([r.outcome, r.promptTokens, r.completionTokens], ["ok", 14, 9]);
  } finally {
    await p.close();
    await mock.close();
  }
});
