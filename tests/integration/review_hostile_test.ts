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
