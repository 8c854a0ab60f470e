/**
 * Contracts the hot-path cuts of issue 19 touched that no other test pinned through the real surface: request
 * lines of `--workers` isolates (their tag, nothing lost at a clean stop) and a chunked request body within the
 * limit.
 */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { spawnProxy, startTestProxy } from "../helpers.ts";

const KEY = "sk-or-v1-" + "e5".repeat(32);

Deno.test("--workers 2: every request line names the isolate that served it, and a clean stop writes them all", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/proxy.log`;
  try {
    const p = await spawnProxy(
      ["--disable-auth", "--workers", "2", "--kv", `${dir}/s.kv`, "--data-dir", dir, "--log", logFile],
      { env: { HOME: dir, OPENROUTER_API_BASE_URL: mock.url, OPENROUTER_API_KEY: KEY } },
    );
    const served = new Map<string, string>(); // request id → isolate
    try {
      for (let i = 0; i < 12; i++) {
        const client = Deno.createHttpClient({}); // a connection of its own: either isolate may take it
        try {
          const res = await fetch(`http://127.0.0.1:${p.port}/v1/chat/completions`, {
            method: "POST",
            client,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content: `q${i}` }] }),
          });
          assert.equal(res.status, 200);
          await res.body?.cancel();
          served.set(res.headers.get("x-request-id")!, res.headers.get("x-llmproxy-isolate")!);
        } finally {
          client.close();
        }
      }
      // Stop at once after the last answer: the lines still batched in each isolate must be written.
      p.child.kill("SIGTERM");
      assert.equal((await p.exited).code, 0);
    } finally {
      await p.kill();
    }
    const log = await Deno.readTextFile(logFile);
    const line =
      /^\[isolate (\d)\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00 \[INF\] llmproxy: (req_[0-9a-f]{32}) POST \/v1\/chat\/completions 200 backend=openrouter model=m key=OPENROUTER_API_KEY attempts=1 \d+ms$/gm;
    const logged = new Map([...log.matchAll(line)].map((m) => [m[2], m[1]]));
    assert.deepEqual(logged, served, log);
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a chunked request body (no Content-Length) within --max-body-mb is read whole and answered", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth", "--max-body-mb", "1"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: KEY,
  });
  try {
    const content = "chunk ".repeat(20_000); // ~120 KB in several chunks
    const bytes = new TextEncoder().encode(
      JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content }] }),
    );
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 16_384) c.enqueue(bytes.subarray(i, i + 16_384));
        c.close();
      },
    });
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const sent = mock.chats.at(-1)!.body as { messages: { content: string }[] };
    assert.equal(sent.messages.at(-1)!.content, content);
  } finally {
    await p.close();
    await mock.close();
  }
});
