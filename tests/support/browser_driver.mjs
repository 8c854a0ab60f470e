// Runs playwright-core under Node for tests/support/browser.ts (Deno refuses the /proc reads playwright-core
// makes at load time unless given --allow-all). Line-delimited JSON over stdin/stdout: requests
// {id, op, page?, args} → replies {id, ok, value | error}; page events → {event, page, data}.
// argv: playwright-core's directory, the Chromium executable, a fresh profile directory.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const [entry, executablePath, profile] = process.argv.slice(2);
const { chromium } = createRequire(import.meta.url)(entry);
const send = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");

const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
// A persistent context opens with one blank page; the tests make their own.
for (const p of context.pages()) await p.close();
const pages = new Map();
let next = 1;

const PAGE_OPS = new Set([
  "goto",
  "url",
  "content",
  "fill",
  "click",
  "isVisible",
  "textContent",
  "setViewportSize",
  "waitForSelector",
  "evaluate",
  "screenshot",
  "close",
]);

async function run({ op, page, args = [] }) {
  if (op === "newPage") {
    const p = await context.newPage();
    const id = next++;
    pages.set(id, p);
    p.on("console", (m) => send({ event: "console", page: id, data: { type: m.type(), text: m.text() } }));
    p.on("pageerror", (e) => send({ event: "pageerror", page: id, data: { message: e.message } }));
    p.on("request", (r) => send({ event: "request", page: id, data: { url: r.url() } }));
    p.on("requestfailed", (r) => send({ event: "requestfailed", page: id, data: { url: r.url() } }));
    return id;
  }
  if (op === "quit") {
    await context.close();
    return null;
  }
  const p = pages.get(page);
  if (!p || !PAGE_OPS.has(op)) throw new Error(`no page ${page} or no operation ${op}`);
  const value = await p[op](...args);
  if (op === "close") pages.delete(page);
  return op === "goto" || op === "waitForSelector" || op === "screenshot" ? null : value ?? null;
}

send({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  try {
    send({ id: msg.id, ok: true, value: await run(msg) });
  } catch (e) {
    send({ id: msg.id, ok: false, error: String(e?.message ?? e) });
  }
  if (msg.op === "quit") break;
}
process.exit(0);
