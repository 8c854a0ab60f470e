/**
 * `deno run -A scripts/console_screenshot.ts [OUT]`: renders README's screenshot of the operator console
 * (.github/console.png) in Debian's Chromium. The traffic is made up: a mock upstream, two keys (one answers 429),
 * a few agents' sessions, a route, and 24 h of roll-ups recorded with earlier times so the charts have a shape.
 */
import { MockOpenAI, orError } from "../tests/mocks/openai_upstream.ts";
import { startTestProxy } from "../tests/helpers.ts";
import { launchChromium } from "../tests/support/browser.ts";

const out = Deno.args[0] ?? ".github/console.png";
const ADMIN = "screenshot-admin-key-0001";
const HOUR = 3_600_000;
const mock = MockOpenAI.start();
let limit = false;
mock.onChat = (req) => {
  if (!limit || !req.key?.endsWith("1".repeat(64))) return undefined;
  limit = false;
  const res = orError(429, "Rate limit exceeded: free-models-per-min");
  res.headers.set("retry-after", "240");
  return res;
};
const dir = await Deno.makeTempDir();
await Deno.writeTextFile(
  `${dir}/config.json`,
  JSON.stringify({
    failover_routes: {
      coder: { policy: "k", elements: ["openrouter:qwen/qwen3-coder:free", "openrouter:openai/gpt-4o-mini"] },
    },
  }),
);
const p = await startTestProxy(["--key-strategy", "fill-first", "--config", `${dir}/config.json`], {
  OPENROUTER_API_BASE_URL: mock.url,
  OPENROUTER_API_KEY_1: "sk-or-v1-" + "1".repeat(64),
  OPENROUTER_API_KEY_2: "sk-or-v1-" + "2".repeat(64),
  OPENROUTER_API_KEY_3: "sk-or-v1-" + "3".repeat(64),
  LLM_INTERACTIVE_PROXY_API_KEY: ADMIN,
});
const browser = await launchChromium();
try {
  const now = Date.now();
  for (let h = 23; h >= 1; h--) {
    const n = Math.round(6 + 5 * Math.sin(h / 3) + (h % 5));
    for (let i = 0; i < n; i++) {
      p.ctx.usage.add({
        time: now - h * HOUR + i * 1000,
        requestId: `req_seed_${h}_${i}`,
        clientKey: "LLM_INTERACTIVE_PROXY_API_KEY",
        backend: "openrouter",
        model: "openai/gpt-4o-mini",
        keyLabel: `OPENROUTER_API_KEY_${1 + (i % 3)}`,
        attempt: 1,
        outcome: "ok",
        stream: true,
        latencyMs: 900,
        promptTokens: 800 + 40 * h,
        completionTokens: 200,
        totalTokens: 1000 + 40 * h,
      });
    }
  }
  const agents = [["opencode/0.9.1", "s-opencode-7f3a"], ["aider/0.86", "s-aider-19c2"], [
    "Continue/1.2",
    "s-continue-a1",
  ]];
  for (const [i, [ua, session]] of agents.entries()) {
    const client = p.client(ADMIN, { headers: { "User-Agent": ua, "X-Session-ID": session } });
    if (i === 1) {
      await client.chat.completions.create({
        model: "x",
        messages: [{ role: "user", content: "!/set(model=coder)" }],
      });
      limit = true;
    }
    await client.chat.completions.create({
      model: i === 1 ? "coder" : "openrouter:openai/gpt-4o-mini",
      messages: [{ role: "user", content: "Refactor the parser into small modules" }],
    });
  }
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${p.url}/ui`);
  await page.fill("#key", ADMIN);
  await page.click("#login button[type=submit]");
  await page.waitForSelector('[data-state="cooling"]', { timeout: 10_000 });
  await page.waitForSelector("#chart-tokens[data-drawn] canvas", { timeout: 10_000 });
  await page.screenshot({ path: out, fullPage: Deno.env.get("FULL") === "1" });
  await page.close();
  // deno-lint-ignore no-console
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await p.close();
  await mock.close();
  await Deno.remove(dir, { recursive: true });
}
