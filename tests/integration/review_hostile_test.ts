/**
 * Hostile upstreams found in review (SPEC §19): answers framed to slip past the checks of issue 12.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const MB = 1024 * 1024;

/**
 * A raw HTTP/1.1 upstream: reads each request (head and content-length body) and answers with `answer`'s
 * head, then `bodyBytes` of body in 64 KiB chunks (chunked framing). It stops writing when the proxy goes.
 */
function rawUpstream(answer: (body: string) => { head: string; bodyBytes: number; piece?: string }) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serveConn = async (conn: Deno.Conn) => {
    let buf = new Uint8Array(0);
    const more = async () => {
      const b = new Uint8Array(64 * 1024);
      const n = await conn.read(b).catch(() => null);
      if (n === null) return false;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(b.subarray(0, n), buf.length);
      buf = next;
      return true;
    };
    try {
      for (;;) {
        let end: number;
        while ((end = dec.decode(buf).indexOf("\r\n\r\n")) < 0) if (!await more()) return;
        const head = dec.decode(buf.subarray(0, end));
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        while (buf.length < end + 4 + length) if (!await more()) return;
        const body = dec.decode(buf.subarray(end + 4, end + 4 + length));
        buf = buf.slice(end + 4 + length);
        const a = answer(body);
        await conn.write(enc.encode(a.head + "\r\n"));
        const piece = a.piece ?? "x".repeat(64 * 1024);
        const frame = enc.encode(`${enc.encode(piece).length.toString(16)}\r\n${piece}\r\n`);
        for (let sent = 0; sent < a.bodyBytes; sent += piece.length) {
          await conn.write(frame);
        }
        await conn.write(enc.encode("0\r\n\r\n"));
      }
    } catch {
      /* the proxy went away */
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      serveConn(conn);
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop.catch(() => {});
    },
  };
}

Deno.test("--max-upstream-body-mb: a chunked answer that also claims a small content-length is still capped", async () => {
  // A hostile or broken upstream (or a proxy in between) sends `transfer-encoding: chunked` and a small
  // `content-length`. fetch frames the body by the chunks (the content-length is ignored but still visible in
  // the headers), so trusting the header let the whole body into memory, however large.
  const up = rawUpstream((body) => {
    const status = body.includes('"model":"err"') ? "500 Internal Server Error" : "200 OK";
    return {
      head: `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n` +
        "content-length: 10\r\n",
      bodyBytes: 8 * MB,
    };
  });
  const proxy = await startTestProxy(["--disable-auth", "--max-upstream-body-mb", "1"], {
    OPENROUTER_API_BASE_URL: up.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
  });
  try {
    for (const [model, stream] of [["ok", false], ["err", false], ["err", true]] as const) {
      const res = await proxy.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "hi" }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 502, `${model} stream=${stream}: ${text.slice(0, 200)}`);
      assert.match(JSON.parse(text).error.message, /too large.*--max-upstream-body-mb/, model);
    }
  } finally {
    await proxy.close();
    await up.close();
  }
});

Deno.test("no leak: a key echoed across the cut of a long upstream error text is scrubbed, not half-shown", async () => {
  // Error texts are cut (300 characters of a non-JSON body, of `metadata.raw`, 200 of a redirect's Location):
  // scrubbing after the cut missed a key that straddles it, so its first half reached the client.
  const OR = "sk-or-v1-" + "a".repeat(64);
  const GK = "AIza" + "B".repeat(35);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method !== "POST") return Response.json({ data: [], models: [] });
    const body = await req.json() as { model?: string; contents?: unknown };
    const key = req.headers.get("authorization")?.slice(7) ?? req.headers.get("x-goog-api-key") ?? "";
    const pad = (n: number) => "p".repeat(n);
    const which = body.model ?? new URL(req.url).pathname;
    if (which === "raw") {
      return Response.json({ error: { code: 502, message: "bad", metadata: { raw: pad(280) + key } } }, {
        status: 502,
      });
    }
    if (which === "inband") { // an error inside a 200: a JSON body, or an event after the commit
      const error = { code: 500, message: "bad", metadata: { raw: pad(280) + key } };
      if (!(body as { stream?: boolean }).stream) return Response.json({ error });
      const delta = {
        id: "x",
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta: { content: "hi" } }],
      };
      return new Response(`data: ${JSON.stringify(delta)}\n\ndata: ${JSON.stringify({ error })}\n\n`, {
        headers: { "content-type": "text/event-stream" },
      });
    }
    if (which === "redirect") {
      return new Response(null, { status: 307, headers: { location: `http://x/${pad(180)}?key=${key}` } });
    }
    return new Response(`<html>${pad(270)} ${key}</html>`, {
      status: 502,
      headers: { "content-type": "text/html" },
    });
  });
  const proxy = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: `http://127.0.0.1:${server.addr.port}/api/v1`,
    GEMINI_API_BASE_URL: `http://127.0.0.1:${server.addr.port}`,
    OPENROUTER_API_KEY: OR,
    GEMINI_API_KEY: GK,
  });
  try {
    for (
      const model of [
        "openrouter:html",
        "openrouter:raw",
        "openrouter:redirect",
        "openrouter:inband",
        "gemini:gemini-2.5-flash",
      ]
    ) {
      for (const stream of [false, true]) {
        const res = await proxy.fetch("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "hi" }] }),
        });
        const text = await res.text();
        assert.equal(res.status, model === "openrouter:inband" && stream ? 200 : 502, `${model}: ${text}`);
        for (const k of [OR, GK]) {
          assert.ok(
            !text.includes(k.slice(0, 12)),
            `${model} stream=${stream}: part of a key leaked: ${text}`,
          );
        }
      }
    }
    const log = await proxy.logText();
    for (const k of [OR, GK]) assert.ok(!log.includes(k.slice(0, 12)), "no part of a key in the log");
  } finally {
    await proxy.close();
    await server.shutdown();
  }
});
