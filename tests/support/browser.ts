/**
 * A real Chromium for tests: Debian's `chromium` (installed by .ci/run) driven by `playwright-core` from npm
 * (pinned, installed on first use; its own browser download does not work here), with a fresh profile that
 * is removed on close.
 */
import { createRequire } from "node:module";
import { npmClient } from "./npm_client.ts";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** The parts of playwright-core's API the tests use. */
export interface PwPage {
  goto(url: string): Promise<unknown>;
  url(): string;
  content(): Promise<string>;
  fill(selector: string, value: string): Promise<void>;
  click(selector: string): Promise<void>;
  isVisible(selector: string): Promise<boolean>;
  textContent(selector: string): Promise<string | null>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  waitForSelector(selector: string, opts?: { timeout?: number; state?: string }): Promise<unknown>;
  evaluate<T>(fn: string): Promise<T>;
  on(event: string, listener: (x: never) => void): void;
  close(): Promise<void>;
}

/** A browser context with a fresh profile. */
export interface Browser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}

/** Launch headless Chromium with a fresh profile; always `close()` it. */
export async function launchChromium(): Promise<Browser> {
  const entry = await npmClient({
    dir: "playwright",
    packages: ["playwright-core@1.65.1"],
    entry: "node_modules/playwright-core",
  });
  const pw = createRequire(import.meta.url)(entry);
  const profile = await Deno.makeTempDir({ prefix: "llmproxy-chromium-" });
  const context = await pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
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
  return {
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
