/**
 * A real Chromium for tests: Debian's `chromium` (installed by .ci/run) driven by `playwright-core` from npm
 * (pinned, installed on first use; its own browser download does not work here), with a fresh profile that
 * is removed on close. Playwright runs under Node (browser_driver.mjs: Deno would need --allow-all for the
 * /proc reads it makes when loaded); this module speaks to it over stdin/stdout and offers the page calls
 * the tests use.
 */
import { npmClient } from "./npm_client.ts";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** What a page reports: console messages, uncaught errors, requests it makes and requests that failed. */
export interface PageEvents {
  console: { type: string; text: string };
  pageerror: { message: string };
  request: { url: string };
  requestfailed: { url: string };
}

/** A browser tab (a subset of playwright's Page; expressions are evaluated over the DevTools protocol). */
export interface PwPage {
  goto(url: string): Promise<void>;
  url(): Promise<string>;
  content(): Promise<string>;
  fill(selector: string, value: string): Promise<void>;
  click(selector: string): Promise<void>;
  isVisible(selector: string): Promise<boolean>;
  textContent(selector: string): Promise<string | null>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  waitForSelector(selector: string, opts?: { timeout?: number; state?: string }): Promise<void>;
  /** The value of a JavaScript expression in the page. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  screenshot(opts: { path: string; fullPage?: boolean }): Promise<void>;
  on<E extends keyof PageEvents>(event: E, listener: (data: PageEvents[E]) => void): void;
  close(): Promise<void>;
}

/** A browser with a fresh profile. */
export interface Browser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}

interface Reply {
  id?: number;
  ok?: boolean;
  value?: unknown;
  error?: string;
  ready?: boolean;
  event?: keyof PageEvents;
  page?: number;
  data?: unknown;
}

/** Launch headless Chromium with a fresh profile; always `close()` it. */
export async function launchChromium(): Promise<Browser> {
  const entry = await npmClient({
    dir: "playwright",
    packages: ["playwright-core@1.65.1"],
    entry: "node_modules/playwright-core",
  });
  const profile = await Deno.makeTempDir({ prefix: "llmproxy-chromium-" });
  const child = new Deno.Command("node", {
    args: [new URL("./browser_driver.mjs", import.meta.url).pathname, entry, CHROMIUM, profile],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, ((data: never) => void)[]>();
  const ready = Promise.withResolvers<void>();
  let stderr = "";
  const errDone = (async () => {
    for await (const s of child.stderr.pipeThrough(new TextDecoderStream())) stderr += s;
  })();
  const outDone = (async () => {
    let buf = "";
    for await (const s of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += s;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const msg: Reply = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.ready) ready.resolve();
        else if (msg.event) {
          for (const l of listeners.get(`${msg.page} ${msg.event}`) ?? []) l(msg.data as never);
        } else if (msg.id !== undefined) {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (msg.ok) p?.resolve(msg.value);
          else p?.reject(new Error(msg.error));
        }
      }
    }
  })();
  const exited = Promise.all([child.status, outDone, errDone]);
  exited.then(() => {
    const gone = new Error(`the browser driver ended: ${stderr.slice(-2000)}`);
    ready.reject(gone);
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  });
  let next = 1;
  const call = async (op: string, page?: number, args: unknown[] = []): Promise<unknown> => {
    const id = next++;
    const answer = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    answer.catch(() => {}); // rejected when the driver is gone, maybe before the write below fails
    await writer.write(new TextEncoder().encode(JSON.stringify({ id, op, page, args }) + "\n"));
    return await answer;
  };
  try {
    await ready.promise;
  } catch (e) {
    await writer.close().catch(() => {});
    await exited;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw e;
  }

  return {
    async newPage(): Promise<PwPage> {
      const page = await call("newPage") as number;
      const on = (op: string) => (...args: unknown[]) => call(op, page, args);
      return {
        goto: on("goto") as PwPage["goto"],
        url: on("url") as PwPage["url"],
        content: on("content") as PwPage["content"],
        fill: on("fill") as PwPage["fill"],
        click: on("click") as PwPage["click"],
        isVisible: on("isVisible") as PwPage["isVisible"],
        textContent: on("textContent") as PwPage["textContent"],
        setViewportSize: on("setViewportSize") as PwPage["setViewportSize"],
        waitForSelector: on("waitForSelector") as PwPage["waitForSelector"],
        evaluate: on("evaluate") as PwPage["evaluate"],
        screenshot: on("screenshot") as PwPage["screenshot"],
        close: on("close") as PwPage["close"],
        on(event, listener) {
          const k = `${page} ${event}`;
          listeners.set(k, [...(listeners.get(k) ?? []), listener as (data: never) => void]);
        },
      };
    },
    async close() {
      await call("quit").catch(() => {});
      await writer.close().catch(() => {});
      await exited;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
