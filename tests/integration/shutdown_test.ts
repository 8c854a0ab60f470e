/**
 * Shutdown (SPEC §19): SIGTERM stops accepting, lets in-flight requests run for --shutdown-grace, then ends
 * them (503, or an error event in a committed stream), flushes records and exits 0; a second signal exits
 * at once; an idle proxy exits without waiting.
 */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { type ProxyProcess, spawnProxy } from "../helpers.ts";
import { recentUsage } from "../../src/usage/query.ts";

const KEY = "sk-or-v1-" + "b".repeat(64);

interface Setup {
  proxy: ProxyProcess;
  mock: MockOpenAI;
  dir: string;
  /** Resolves when the upstream received a chat request. */
  reached: Promise<void>;
  /** Ends the upstream's stall (so the mock can close). */
  release: () => void;
  chat(stream: boolean): Promise<Response>;
}

/** A proxy subprocess whose upstream stalls every chat request (after `first`, for a stream). */
async function withStalledUpstream(
  args: string[],
  fn: (s: Setup) => Promise<void>,
  first?: string,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const mock = MockOpenAI.start();
  const { promise: reached, resolve: onReach } = Promise.withResolvers<void>();
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const enc = new TextEncoder();
  mock.onChat = () => {
    onReach();
    if (first === undefined) return released.then(() => new Response("{}"));
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(enc.encode(first + "\n\n"));
        await released;
        c.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  };
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await spawnProxy(["--disable-auth", "--data-dir", dir, ...args], {
      env: { HOME: dir, OPENROUTER_API_BASE_URL: mock.url, OPENROUTER_API_KEY: KEY },
      cwd: dir,
    });
    const port = proxy.port;
    await fn({
      proxy,
      mock,
      dir,
      reached,
      release,
      chat: (stream) =>
        fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "openrouter:m",
            stream,
            messages: [{ role: "user", content: "hi" }],
          }),
        }),
    });
  } finally {
    release();
    await proxy?.kill();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The exit status, or a failure if the process is still running after `guardMs` (it would hang). */
async function exitedWithin(p: ProxyProcess, guardMs: number): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<"running">((resolve) => (timer = setTimeout(() => resolve("running"), guardMs)));
  try {
    const r = await Promise.race([p.exited, guard]);
    if (r === "running") throw new Error(`still running after the signal: ${p.stderr()}`);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

async function usageOf(dir: string) {
  const kv = await Deno.openKv(`${dir}/llmproxy.kv`);
  try {
    return await recentUsage(kv, { limit: 10 });
  } finally {
    kv.close();
  }
}

Deno.test("SIGTERM: a request waiting on a stalled upstream gets 503 after the grace, its record is flushed, exit 0", async () => {
  await withStalledUpstream(["--shutdown-grace", "1"], async ({ proxy, dir, reached, chat }) => {
    const answer = chat(false);
    await reached;
    proxy.child.kill("SIGTERM");
    const res = await answer;
    const body = await res.json();
    assert.equal(res.status, 503);
    assert.equal(body.error.code, "shutting_down");
    assert.equal(body.error.type, "server_error");
    const status = await exitedWithin(proxy, 30_000);
    assert.equal(status.code, 0, proxy.stderr());
    assert.match(proxy.stderr(), /shutdown grace over: ending 1 request/);
    const records = await usageOf(dir);
    assert.equal(records.length, 1, "the in-flight request's record was written before the exit");
    assert.equal(records[0].model, "m");
  });
});

Deno.test("SIGTERM: a committed stream ends with an error event after the grace; exit 0", async () => {
  const chunk = `data: ${
    JSON.stringify({
      id: "g",
      object: "chat.completion.chunk",
      model: "m",
      choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: null }],
    })
  }`;
  await withStalledUpstream(["--shutdown-grace", "1"], async ({ proxy, dir, chat }) => {
    const res = await chat(true);
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("Hello")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    proxy.child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /Hello/);
    assert.match(text, /data: \{"error":\{"message":"The stream was ended: The proxy is shutting down/, text);
    const status = await exitedWithin(proxy, 30_000);
    assert.equal(status.code, 0, proxy.stderr());
    const records = await usageOf(dir);
    assert.equal(records.length, 1);
    assert.equal(records[0].outcome, "stream_error");
  }, chunk);
});

Deno.test("a second SIGTERM during the grace exits at once", async () => {
  await withStalledUpstream(["--shutdown-grace", "3600"], async ({ proxy, reached, chat }) => {
    const answer = chat(false).then((r) => r.body?.cancel(), () => {});
    await reached;
    proxy.child.kill("SIGTERM");
    await proxy.waitForStderr("stopping");
    proxy.child.kill("SIGTERM");
    const status = await exitedWithin(proxy, 30_000);
    assert.equal(status.code, 143, proxy.stderr());
    assert.match(proxy.stderr(), /second signal/);
    await answer;
  });
});

Deno.test("an idle proxy (with an open keep-alive connection) exits at once on SIGTERM, whatever the grace", async () => {
  await withStalledUpstream(["--shutdown-grace", "3600"], async ({ proxy }) => {
    const res = await fetch(`http://127.0.0.1:${proxy.port}/health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    proxy.child.kill("SIGTERM");
    const status = await exitedWithin(proxy, 30_000);
    assert.equal(status.code, 0, proxy.stderr());
  });
});
