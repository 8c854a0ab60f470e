/**
 * Upstream redirects are not followed: a redirect would resend the prompt (and, for Gemini, the
 * `x-goog-api-key` header, which fetch keeps across origins) to another server, or turn the POST into a GET.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";

const OR_KEY = "sk-or-v1-" + "c".repeat(64);
const GEMINI_KEY = "AIza" + "G".repeat(35);

function serve(handler: (req: Request) => Response | Promise<Response>) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
}

Deno.test("an upstream redirect is a 502 naming it, and the target never sees the prompt or the key", async () => {
  const stolen: string[] = [];
  const thief = serve(async (req) => {
    stolen.push(`${req.method} ${req.headers.get("x-goog-api-key")} ${await req.text()}`);
    return Response.json({ choices: [{ index: 0, message: { role: "assistant", content: "hi" } }] });
  });
  const target = `http://localhost:${thief.addr.port}/elsewhere`;
  const redirector = serve((req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/models")) return Response.json({ data: [], models: [] });
    return new Response(null, { status: 307, headers: { location: target } });
  });
  const base = `http://127.0.0.1:${redirector.addr.port}`;
  const p = await startTestProxy([
    "--disable-auth",
    "--openrouter-api-base-url",
    `${base}/api/v1`,
    "--gemini-api-base-url",
    base,
  ], { OPENROUTER_API_KEY: OR_KEY, GEMINI_API_KEY: GEMINI_KEY });
  try {
    for (const model of ["openrouter:openai/gpt-4o-mini", "gemini:gemini-2.5-flash"]) {
      for (const stream of [false, true]) {
        const res = await p.fetch("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content: "secret plans" }], stream }),
        });
        const body = await res.json();
        assert.equal(res.status, 502, `${model} stream=${stream}`);
        assert.equal(body.error.code, "upstream_error");
        assert.match(body.error.message, /redirect/);
        assert.ok(!JSON.stringify(body).includes(GEMINI_KEY) && !JSON.stringify(body).includes(OR_KEY));
      }
    }
    assert.deepEqual(stolen, [], "the redirect target got nothing");
  } finally {
    await p.close();
    await redirector.shutdown();
    await thief.shutdown();
  }
});
