/**
 * The upstream client's contract (fetch): status, headers and body as sent (a POST, or a GET for listings); a
 * streamed body arrives chunk by chunk; aborts end the request or the body; a request is never sent twice;
 * redirects are not followed; refused connections reject; whole bodies stop at the size limit; private CAs come
 * from DENO_CERT.
 */
import assert from "node:assert/strict";
import { AnswerTooLarge, createUpstreamClient } from "../../src/runner/upstream_client.ts";
import { postUpstream } from "../../src/runner/http.ts";
import { VERSION } from "../../src/core/version.ts";

function serve(
  handler: (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>,
) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
}

const enc = new TextEncoder();

Deno.test(`client: POST body and headers arrive; status, headers and text come back`, async () => {
  const seen: string[] = [];
  const server = serve(async (req) => {
    seen.push(
      `${req.method} ${new URL(req.url).pathname} ${req.headers.get("authorization")} ${
        req.headers.get("user-agent")
      } ${await req.text()}`,
    );
    const h = new Headers({ "content-type": "application/json", "x-ratelimit-remaining": "7" });
    h.append("set-cookie", "a=1");
    h.append("set-cookie", "b=2");
    return new Response('{"é":"ü"}', { status: 429, headers: h });
  });
  const client = createUpstreamClient();
  try {
    const res = await client.post(`http://127.0.0.1:${server.addr.port}/v1/chat?x=1`, {
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: '{"prompt":"ünïcode"}',
      signal: new AbortController().signal,
    });
    assert.equal(res.status, 429);
    assert.equal(res.ok, false);
    assert.equal(res.headers.get("x-ratelimit-remaining"), "7");
    assert.equal(res.headers.get("Set-Cookie"), "a=1, b=2");
    assert.equal(await res.text(), '{"é":"ü"}');
    assert.deepEqual(seen, [`POST /v1/chat Bearer k llmproxy/${VERSION} {"prompt":"ünïcode"}`]);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test(`client: a GET (a model listing) sends its headers and no body, is not redirected, reads under the limit`, async () => {
  const seen: string[] = [];
  const server = serve(async (req) => {
    const path = new URL(req.url).pathname;
    seen.push(
      `${req.method} ${path} ${req.headers.get("x-api-key")} ${req.headers.get("user-agent")} [${await req
        .text()}]`,
    );
    if (path === "/moved") return new Response(null, { status: 302, headers: { location: "/models" } });
    return new Response(path === "/big" ? "x".repeat(2048) : '{"data":[]}', { status: 200 });
  });
  const client = createUpstreamClient({ maxBodyBytes: 1024 });
  const get = (path: string) =>
    client.get(`http://127.0.0.1:${server.addr.port}${path}`, {
      headers: { "x-api-key": "k" },
      signal: new AbortController().signal,
    });
  try {
    assert.equal(await (await get("/models")).text(), '{"data":[]}');
    const moved = await get("/moved");
    assert.equal(moved.status, 302);
    moved.discard();
    await assert.rejects((await get("/big")).text(), AnswerTooLarge);
    assert.deepEqual(seen, [
      `GET /models k llmproxy/${VERSION} []`,
      `GET /moved k llmproxy/${VERSION} []`,
      `GET /big k llmproxy/${VERSION} []`,
    ]);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test(`client: a streamed body arrives chunk by chunk, before the upstream ends it`, async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = serve(() =>
    new Response(
      new ReadableStream({
        async start(c) {
          c.enqueue(enc.encode("data: one\n\n"));
          await gate;
          c.enqueue(enc.encode("data: two\n\n"));
          c.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  const client = createUpstreamClient();
  try {
    const res = await client.post(`http://127.0.0.1:${server.addr.port}/`, {
      headers: {},
      body: "{}",
      signal: new AbortController().signal,
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal(
      (await reader.read()).value,
      "data: one\n\n",
      "the first chunk comes while the upstream waits",
    );
    release();
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
    }
    assert.equal(rest, "data: two\n\n");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test(`client: an abort before the answer rejects; an abort mid-body errors the body`, async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let bodyCancelled = false;
  const arrived = Promise.withResolvers<void>();
  const server = serve(async (req) => {
    if (new URL(req.url).pathname === "/slow") {
      arrived.resolve();
      await gate;
      return new Response("late");
    }
    return new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode("part"));
        },
        cancel() {
          bodyCancelled = true;
        },
      }),
    );
  });
  const client = createUpstreamClient();
  try {
    const early = new AbortController();
    const pending = client.post(`http://127.0.0.1:${server.addr.port}/slow`, {
      headers: {},
      body: "{}",
      signal: early.signal,
    });
    // Aborted while the upstream holds the request (it arrived, no answer yet).
    await arrived.promise;
    early.abort(new DOMException("client gone", "AbortError"));
    await assert.rejects(pending);

    const mid = new AbortController();
    const res = await client.post(`http://127.0.0.1:${server.addr.port}/stream`, {
      headers: {},
      body: "{}",
      signal: mid.signal,
    });
    const reader = res.body.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "part");
    mid.abort();
    await assert.rejects(reader.read());
    for (let i = 0; i < 100 && !bodyCancelled; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(bodyCancelled, "the upstream saw its response body cancelled");
  } finally {
    release();
    client.close();
    await server.shutdown();
  }
});

Deno.test(`client: redirects come back as answers, not followed; a refused connection rejects`, async () => {
  let followed = false;
  const server = serve((req) => {
    if (new URL(req.url).pathname === "/there") followed = true;
    return new Response(null, { status: 307, headers: { location: "/there" } });
  });
  const client = createUpstreamClient();
  try {
    const res = await client.post(`http://127.0.0.1:${server.addr.port}/here`, {
      headers: {},
      body: "{}",
      signal: new AbortController().signal,
    });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("location"), "/there");
    res.discard();
    assert.equal(followed, false);
  } finally {
    await server.shutdown();
  }
  // The port is closed now: the failure is a value with the cause named.
  const posted = await postUpstream(
    client,
    "openrouter",
    `http://127.0.0.1:${server.addr.port}/`,
    {},
    "{}",
    new AbortController().signal,
    5_000,
  );
  client.close();
  assert.equal(posted.ok, false);
  if (!posted.ok) {
    assert.equal(posted.failure.status, 502);
    assert.match(
      posted.failure.message,
      /could not be reached at http:\/\/127\.0\.0\.1:\d+\/ \((ECONNREFUSED|ConnectionRefused|TypeError)\)/,
    );
  }
});

Deno.test("client: a request dropped unanswered is not sent again, except fetch's one retry on a pooled connection", async () => {
  // A raw HTTP/1.1 server. Connection 1 reads the first request and closes without answering (the server may
  // have started paid work): fetch must not send it again. Connection 2 answers one request and then drops
  // the next one unanswered: that is what a server's idle timeout racing a reused connection looks like, and
  // Deno's fetch sends the request once more on a new connection (deno#32566, only for pooled connections).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let connections = 0;
  let requests = 0;
  const conns: Deno.Conn[] = [];
  const answer = enc.encode("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok");
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      const n = ++connections;
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        let handled = 0;
        for (;;) {
          const got = await conn.read(buf).catch(() => null);
          if (got === null) break;
          const text = new TextDecoder().decode(buf.subarray(0, got));
          if (!text.includes("\r\n\r\n")) continue;
          requests++;
          if (n === 1 || (n === 2 && handled === 1)) break; // drop it unanswered
          handled++;
          await conn.write(answer).catch(() => {});
        }
        try {
          conn.close();
        } catch { /* already closed */ }
      })();
    }
  })();
  const client = createUpstreamClient();
  try {
    const post = () =>
      client.post(`http://127.0.0.1:${port}/`, {
        headers: {},
        body: "{}",
        signal: new AbortController().signal,
      });
    await assert.rejects(post(), "dropped on a fresh connection: a failure");
    assert.equal(requests, 1, "dropped on a fresh connection: sent once");
    assert.equal(await (await post()).text(), "ok");
    assert.equal(await (await post()).text(), "ok", "dropped on a pooled connection: sent again");
    assert.equal(requests, 4);
    assert.equal(connections, 3);
  } finally {
    client.close();
    listener.close();
    await serving.catch(() => {});
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  }
});

Deno.test("client: whole bodies are read up to maxBodyBytes (content-length, chunked, compressed)", async () => {
  const MB = 1024 * 1024;
  const big = enc.encode("x".repeat(3 * MB));
  const gzipped = new Uint8Array(
    await new Response(new Blob([big]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  let cancelled = 0;
  const server = serve((req) => {
    switch (new URL(req.url).pathname) {
      case "/length":
        return new Response(big);
      case "/chunked": {
        let sent = 0;
        return new Response(
          new ReadableStream({
            pull(c) {
              // 32 MiB: more than loopback buffers hold, so the server still writes when the client cancels.
              if (sent >= 32 * MB) return c.close();
              c.enqueue(big.subarray(0, 64 * 1024));
              sent += 64 * 1024;
            },
            cancel() {
              cancelled++;
            },
          }),
        );
      }
      case "/gzip": // 3 KiB on the wire, 3 MiB once decompressed
        return new Response(gzipped, { headers: { "content-encoding": "gzip" } });
      default:
        return new Response("small é");
    }
  });
  const client = createUpstreamClient({ maxBodyBytes: MB });
  const post = (path: string) =>
    client.post(`http://127.0.0.1:${server.addr.port}${path}`, {
      headers: {},
      body: "{}",
      signal: new AbortController().signal,
    });
  try {
    assert.equal(client.maxBodyBytes, MB);
    for (const path of ["/length", "/chunked", "/gzip"]) {
      const res = await post(path);
      await assert.rejects(res.text(), AnswerTooLarge, path);
    }
    assert.equal(cancelled, 1, "the chunked body was cancelled once over the limit");
    assert.equal(await (await post("/small")).text(), "small é");
    assert.equal(createUpstreamClient().maxBodyBytes, 64 * MB, "the default is 64 MiB");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("client: HTTPS upstreams work, trusting a private CA from DENO_CERT or NODE_EXTRA_CA_CERTS", async () => {
  // A test CA and a certificate it signed for localhost (tests/fixtures/tls, 100-year validity, test use only).
  const dir = new URL("../fixtures/tls/", import.meta.url);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(new URL("cert.pem", dir)),
    key: await Deno.readTextFile(new URL("key.pem", dir)),
    onListen() {},
  }, async (req) => new Response(`secure ${await req.text()}`));
  const client = new URL("../../src/runner/upstream_client.ts", import.meta.url).href;
  const code = `
    import { createUpstreamClient } from "${client}";
    const c = createUpstreamClient();
    try {
      const r = await c.post("https://localhost:${server.addr.port}/v1", { headers: {}, body: "hello", signal: new AbortController().signal });
      console.log(r.status, await r.text());
    } catch (e) {
      console.log("failed", String(e.cause ?? e.message));
    } finally {
      c.close();
    }`;
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", code],
      env: { NO_COLOR: "1", ...env },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  const ca = new URL("ca.pem", dir).pathname;
  const denoDir = Deno.env.get("DENO_DIR");
  const base: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/",
    ...(denoDir ? { DENO_DIR: denoDir } : {}),
  };
  try {
    assert.equal(await run({ ...base, DENO_CERT: ca }), "200 secure hello");
    assert.equal(await run({ ...base, NODE_EXTRA_CA_CERTS: ca }), "200 secure hello");
    assert.match(await run(base), /^failed .*certificate/, "an untrusted certificate is refused");
  } finally {
    await server.shutdown();
  }
});
