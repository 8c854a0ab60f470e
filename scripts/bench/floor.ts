/**
 * The floor: a bare Deno.serve + fetch pass-through proxy. What the runtime costs by itself; llmproxy
 * minus the floor is what our code adds.
 *   deno run -A scripts/bench/floor.ts UPSTREAM_BASE_URL     (prints the port it listens on)
 */
const upstream = Deno.args[0];
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  // deno-lint-ignore no-console
  onListen: ({ port }) => console.log(port),
}, async (req) => {
  const url = new URL(req.url);
  const res = await fetch(upstream + url.pathname.replace(/^\/v1/, ""), {
    method: req.method,
    headers: { "content-type": "application/json", authorization: "Bearer floor" },
    body: req.body,
    signal: req.signal,
  });
  return new Response(res.body, { status: res.status, headers: res.headers });
});
