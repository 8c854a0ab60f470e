/**
 * The operator console (SPEC §18) in a real Chromium: the key prompt, then live data; a request made while the
 * page is open shows up without a reload; a key's 429 shows it cooling; a chart is drawn; no request leaves the
 * proxy's origin; no console errors; no horizontal overflow at 375 px; no key value anywhere in the page.
 */
import assert from "node:assert/strict";
import { chunkEvent, MockOpenAI, orError } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";
import { launchChromium, type PwPage } from "../support/browser.ts";

const OR1 = "sk-or-v1-" + "c".repeat(64);
const OR2 = "sk-or-v1-" + "d".repeat(64);
const ADMIN = "console-admin-key-000001";
const USER = "console-user-key-0000002";
const WAIT = { timeout: 10_000 };

/** Everything the page logged as an error or warning, threw, or asked of another origin. */
function watch(page: PwPage, origin: string): { errors: string[]; foreign: string[]; requests: string[] } {
  const seen = { errors: [] as string[], foreign: [] as string[], requests: [] as string[] };
  page.on("console", (m) => {
    if (m.type === "error" || m.type === "warning") seen.errors.push(`${m.type}: ${m.text}`);
  });
  page.on("pageerror", (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    seen.requests.push(r.url);
    if (!r.url.startsWith(origin + "/") && !r.url.startsWith("data:")) seen.foreign.push(r.url);
  });
  page.on("requestfailed", (r) => seen.errors.push(`request failed: ${r.url}`));
  return seen;
}

/**
 * Wait until the expression is truthy in the page, at most 10 s. The page's CSP forbids eval, which
 * playwright's waitForFunction needs, so this polls with evaluate (the DevTools protocol, not page script).
 */
async function until(page: PwPage, expression: string): Promise<void> {
  const end = Date.now() + WAIT.timeout;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pixels of the first series' colour (#2f81f7) in the top half of a chart's canvas: a risen line. */
const RISEN_LINE = (id: string) =>
  `(() => {
  const c = document.querySelector('#${id} canvas');
  if (!c) return 0;
  const g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, Math.floor(c.height / 2)).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - 47) < 40 && Math.abs(d[i + 1] - 129) < 40 && Math.abs(d[i + 2] - 247) < 40 && d[i + 3] > 0) n++;
  }
  return n;
})()`;

Deno.test("console: key prompt, live requests, a 429 cooling a key, charts, 375 px, nothing leaves the origin", async (t) => {
  const mock = MockOpenAI.start();
  let limit = false;
  let hold: Promise<void> | undefined;
  mock.onChat = (req) => {
    if (hold && req.body?.stream) {
      // A stream that sends its first words, then waits for the test.
      const until = hold;
      hold = undefined;
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(enc.encode(chunkEvent("partial ") + "\n\n"));
          await until;
          c.enqueue(enc.encode(chunkEvent("answer", "stop") + "\n\ndata: [DONE]\n\n"));
          c.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    if (limit && req.key === OR1) {
      limit = false;
      const res = orError(429, "Rate limit exceeded");
      res.headers.set("retry-after", "120");
      return res;
    }
    return undefined;
  };
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      failover_routes: { smart: { policy: "k", elements: ["openrouter:openai/gpt-4o-mini"] } },
    }),
  );
  const p = await startTestProxy(
    ["--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_1", "--key-strategy", "fill-first", "--config", config],
    {
      OPENROUTER_API_BASE_URL: mock.url,
      OPENROUTER_API_KEY_1: OR1,
      OPENROUTER_API_KEY_2: OR2,
      LLM_INTERACTIVE_PROXY_API_KEY_1: ADMIN,
      LLM_INTERACTIVE_PROXY_API_KEY_2: USER,
    },
  );
  const browser = await launchChromium();
  try {
    const client = p.client(USER, { headers: { "X-Session-ID": "s-before-open" } });
    await client.chat.completions.create({
      model: "openrouter:a/one",
      messages: [{ role: "user", content: "x" }],
    });

    const page = await browser.newPage();
    const seen = watch(page, p.url);
    await t.step("the page asks for the key, then shows the data", async () => {
      await page.goto(`${p.url}/ui`);
      await page.waitForSelector("#login", { state: "visible", ...WAIT });
      assert.equal(await page.isVisible("#app"), false, "no data before the key");
      await page.fill("#key", ADMIN);
      await page.click("#login button[type=submit]");
      await page.waitForSelector('[data-backend="openrouter"] [data-key="OPENROUTER_API_KEY_1"]', WAIT);
      assert.equal(await page.isVisible("#login"), false);
      assert.equal(await page.evaluate("document.querySelector('#key').value"), "", "the field is cleared");
      assert.ok(!(await page.url()).includes(ADMIN), "the key is not in the URL");
      await until(
        page,
        "document.querySelector('#recent').textContent.includes('s-before-open')",
      );
      const routes = await page.textContent("#routes");
      assert.ok(
        routes?.includes("smart") && routes.includes("openrouter:openai/gpt-4o-mini"),
        String(routes),
      );
      assert.ok((await page.textContent("#settings"))?.includes("--key-strategy"));
      assert.ok((await page.textContent("#sessions"))?.includes("s-before-open"));
    });

    await t.step("a request made while the page is open appears without a reload", async () => {
      await page.evaluate("window.__stillHere = true");
      await p.client(USER, { headers: { "X-Session-ID": "s-live-request" } }).chat.completions.create({
        model: "openrouter:b/two",
        messages: [{ role: "user", content: "live" }],
      });
      await until(
        page,
        "document.querySelector('#recent').textContent.includes('s-live-request')",
      );
      const row = await page.evaluate<string>(
        "[...document.querySelectorAll('#recent tbody tr')].find((r) => r.textContent.includes('s-live-request')).textContent",
      );
      assert.ok(row.includes("b/two → openrouter:b/two") && row.includes("chat") && row.includes("ok"), row);
      assert.equal(await page.evaluate("window.__stillHere"), true, "no reload happened");
    });

    await t.step("an agent's stream shows in flight while it runs, and leaves when it ends", async () => {
      const release = Promise.withResolvers<void>();
      hold = release.promise;
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: {
          authorization: `Bearer ${USER}`,
          "content-type": "application/json",
          "x-session-id": "s-streaming-now",
          "user-agent": "opencode/1.0",
        },
        body: JSON.stringify({
          model: "openrouter:c/three",
          stream: true,
          messages: [{ role: "user", content: "go" }],
        }),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      try {
        await reader.read(); // the first words: the stream is running
        await until(page, "document.querySelector('#in-flight').textContent.includes('s-streaming-now')");
        const row = await page.evaluate<string>("document.querySelector('#in-flight tbody tr').textContent");
        assert.ok(row.includes("opencode") && row.includes("c/three → openrouter:c/three"), row);
        assert.match(await page.textContent("#active") ?? "", /^1 now$/);
      } finally {
        release.resolve();
        while (!(await reader.read()).done) { /* drain */ }
      }
      await until(page, "!document.querySelector('#in-flight').textContent.includes('s-streaming-now')");
      assert.match(await page.textContent("#active") ?? "", /^0 now$/);
    });

    await t.step("a key's 429 shows it cooling, with today's 429 count", async () => {
      limit = true;
      await client.chat.completions.create({
        model: "openrouter:a/one",
        messages: [{ role: "user", content: "y" }],
      });
      const key1 = '[data-backend="openrouter"] [data-key="OPENROUTER_API_KEY_1"]';
      await page.waitForSelector(`${key1}[data-state="cooling"]`, WAIT);
      const text = await page.textContent(key1);
      assert.match(text ?? "", /cooling\s*until \d\d:\d\d:\d\d \(1[012]\d s\)/, String(text));
      const cells = await page.evaluate<string[]>(
        `[...document.querySelectorAll('${key1} td')].map((c) => c.textContent)`,
      );
      assert.equal(cells[3], "1", `one 429 today: ${cells}`);
      assert.equal(
        await page.evaluate(
          "document.querySelector('[data-key=\"OPENROUTER_API_KEY_2\"]').dataset.state",
        ),
        "ready",
      );
    });

    await t.step("charts of the last 24 h are drawn from the roll-ups", async () => {
      await page.waitForSelector("#chart-requests[data-drawn] canvas", WAIT);
      await until(page, `${RISEN_LINE("chart-requests")} > 0`);
      await until(page, `${RISEN_LINE("chart-tokens")} > 0`);
    });

    await t.step("usable at 375 px: no horizontal overflow", async () => {
      await page.setViewportSize({ width: 375, height: 800 });
      await until(page, "document.documentElement.scrollWidth <= 375");
      // One more refresh at this width, then still no overflow.
      await page.evaluate("window.__updated = document.querySelector('#status').textContent");
      await until(
        page,
        "document.querySelector('#status').textContent !== window.__updated",
      );
      assert.ok(await page.evaluate<boolean>("document.documentElement.scrollWidth <= 375"));
      assert.ok(await page.isVisible('[data-key="OPENROUTER_API_KEY_1"]'));
      await page.setViewportSize({ width: 1280, height: 800 });
      await until(page, "document.documentElement.scrollWidth <= 1280");
    });

    await t.step("no key value anywhere, no console error, no request off the origin", async () => {
      const html = await page.content();
      for (const secret of [OR1, OR2, ADMIN, USER]) {
        assert.ok(!html.includes(secret), "no key value in the page");
      }
      assert.deepEqual(seen.errors, []);
      assert.deepEqual(seen.foreign, []);
      assert.ok(seen.requests.some((u) => u.endsWith("/ui/api/state")));
      assert.ok(!seen.requests.some((u) => u.includes(ADMIN)), "the key is never in a URL");
    });

    await t.step("a wrong key is refused with the reason, and the prompt comes back", async () => {
      const other = await browser.newPage();
      await other.goto(`${p.url}/ui`);
      await other.fill("#key", USER);
      await other.click("#login button[type=submit]");
      await until(
        other,
        "document.querySelector('#login-error').textContent.includes('admin')",
      );
      assert.equal(await other.isVisible("#app"), false);
      await other.close();
    });
    await page.close();
  } finally {
    await browser.close();
    await p.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("console with auth disabled: no prompt, data at once (the console's own origin is allowed)", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: OR1,
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const seen = watch(page, p.url);
    await page.goto(`${p.url}/ui`);
    await page.waitForSelector('[data-key="OPENROUTER_API_KEY"][data-state="ready"]', WAIT);
    assert.equal(await page.isVisible("#login"), false);
    assert.ok(!(await page.content()).includes(OR1));
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.foreign, []);
    await page.close();
  } finally {
    await browser.close();
    await p.close();
    await mock.close();
  }
});
