/** The HTTP edge under hostile clients (SPEC §19 "No crash"): descriptor exhaustion and slow request heads. */
import assert from "node:assert/strict";
import { chunkEvent as chunk, MockOpenAI, sseResponse } from "../mocks/openai_upstream.ts";
import { spawnProxy, sseEvents, startTestProxy } from "../helpers.ts";

const enc = new TextEncoder();

/** Read until the server closes the connection; fails if it is still open after `guardMs`. */
async function readUntilClosed(conn: Deno.Conn, guardMs = 15_000): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<"open">((resolve) => (timer = setTimeout(() => resolve("open"), guardMs)));
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buf).catch(() => null), guard]);
      if (n === "open") throw new Error(`the server did not close the connection (read so far: ${text})`);
      if (n === null) return text;
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("running out of file descriptors does not end the process; it serves again once they free", async () => {
  const dir = await Deno.makeTempDir();
  const proxy = await spawnProxy(
    ["--disable-auth", "--data-dir", dir, "--kv", ":memory:"],
    { env: { HOME: dir }, cwd: dir, fdLimit: 128 },
  );
  const conns: Deno.Conn[] = [];
  try {
    // More idle connections than the proxy has descriptors: the excess waits in the listen backlog.
    for (let i = 0; i < 300; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: proxy.port }));
    }
    await proxy.waitForStderr("accept failed");
    for (const c of conns.splice(0)) c.close();
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${proxy.port}/health`, {
          signal: AbortSignal.timeout(2_000),
        });
        status = res.status;
        await res.body?.cancel();
      } catch { /* not yet */ }
    }
    assert.equal(status, 200, `no /health answer after the connections closed; stderr: ${proxy.stderr()}`);
    assert.doesNotMatch(proxy.stderr(), /Uncaught|panicked/);
    proxy.child.kill("SIGTERM");
    assert.equal((await proxy.exited).code, 0, proxy.stderr());
  } finally {
    for (const c of conns) c.close();
    await proxy.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a request head that does not arrive within --timeout is cut, and so is an idle keep-alive", async () => {
  const proxy = await startTestProxy(["--disable-auth", "--timeout", "0.2"]);
  try {
    const half = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    try {
      await half.write(enc.encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
      assert.equal(await readUntilClosed(half), "", "closed without an answer");
    } finally {
      half.close();
    }
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    try {
      await idle.write(enc.encode("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
      const text = await readUntilClosed(idle);
      assert.match(text, /^HTTP\/1\.1 200 /, "the request was answered, then the idle connection cut");
    } finally {
      idle.close();
    }
    const log = await proxy.logText();
    assert.doesNotMatch(log, /unexpected error/);
  } finally {
    await proxy.close();
  }
});

Deno.test("a stream that lasts longer than --timeout (with short gaps) is not cut by the head timeout", async () => {
  const mock = MockOpenAI.start();
  mock.onChat = () =>
    sseResponse(
      [...Array.from({ length: 8 }, (_, i) => chunk(`w${i} `)), chunk("", "stop"), "data: [DONE]"],
      100,
    );
  const proxy = await startTestProxy(["--disable-auth", "--timeout", "0.5"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "a".repeat(64),
  });
  try {
    const res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "openrouter:m",
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(res.status, 200);
    const { data } = await sseEvents(res);
    const text = data.filter((d) => d !== "[DONE]").map((d) =>
      JSON.parse(d).choices?.[0]?.delta?.content ?? ""
    ).join("");
    assert.equal(text, "w0 w1 w2 w3 w4 w5 w6 w7 ");
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("a request head the HTTP engine rejects gets its empty 400 (a documented limitation) and the proxy carries on", async () => {
  const proxy = await startTestProxy(["--disable-auth"]);
  try {
    for (
      const head of [
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\0b\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
      ]
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      try {
        await conn.write(enc.encode(head));
        const text = await readUntilClosed(conn);
        // hyper answers before any of our code runs: if this starts failing, Deno lets us shape it now.
        assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\ncontent-length: 0\r\n/);
      } finally {
        conn.close();
      }
    }
    const res = await proxy.fetch("/health");
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await proxy.close();
  }
});
