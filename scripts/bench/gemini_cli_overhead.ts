/**
 * The time gemini-cli-direct adds over running the Gemini CLI directly (SPEC §3.3 target: ≤ 50 ms on top
 * of the CLI's own start-up). Both sides run the same pinned CLI, the same prompt, settings and
 * environment, against the same local mock; runs alternate so drift hits both. Usage:
 *   deno run -A scripts/bench/gemini_cli_overhead.ts [runs=5]
 */
import { startTestProxy } from "../../tests/helpers.ts";
import { MockGemini } from "../../tests/mocks/gemini_cli_upstream.ts";
import { cliProxyEnv, geminiCliBinary, makeCliHome } from "../../tests/support/gemini_cli.ts";
import { cliEnv } from "../../src/providers/gemini_cli/spawn.ts";
import { cliDataDir, createWorkspace, removeWorkspace } from "../../src/providers/gemini_cli/workspace.ts";
import { flattenConversation } from "../../src/providers/gemini_cli/prompt.ts";
import type { ChatRequest } from "../../src/model/request.ts";

const runs = Number(Deno.args[0] ?? 5);
const print = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const bin = await geminiCliBinary();
const mock = MockGemini.start();
const home = await makeCliHome();
const env = cliProxyEnv(home, mock.url);
const proxy = await startTestProxy(["--disable-auth", "--gemini-cli-path", bin], env);
const body = {
  model: "gemini-cli-direct:gemini-2.5-flash",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hello there" }],
  temperature: 0.5,
} as ChatRequest;

async function direct(): Promise<number> {
  // The same workspace the proxy would make, prepared before the clock starts.
  const { system, prompt } = flattenConversation(body);
  const ws = await createWorkspace("gemini-2.5-flash", body, system);
  const t0 = performance.now();
  const child = new Deno.Command(bin, {
    args: ["--model=gemini-2.5-flash", "--output-format", "stream-json", "--extensions", "none"],
    cwd: ws.dir,
    env: cliEnv(env, ws),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(prompt));
  await w.close();
  const out = await child.output();
  const ms = performance.now() - t0;
  if (!new TextDecoder().decode(out.stdout).includes('"status":"success"')) {
    throw new Error("direct run failed");
  }
  // Cleaned up as the proxy does, so neither side inherits the other's leftovers.
  await removeWorkspace(ws, cliDataDir(env));
  return ms;
}

async function viaProxy(): Promise<number> {
  const t0 = performance.now();
  const res = await proxy.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`proxy answered ${res.status}: ${text}`);
  return ms;
}

try {
  await direct(); // warm the file cache once
  await viaProxy();
  const d: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < runs; i++) {
    d.push(await direct());
    p.push(await viaProxy());
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  print(`direct CLI runs (ms): ${fmt(d)}  median ${median(d).toFixed(0)}`);
  print(`through the proxy (ms): ${fmt(p)}  median ${median(p).toFixed(0)}`);
  print(`added by the proxy: median ${(median(p) - median(d)).toFixed(0)} ms`);
} finally {
  await proxy.close();
  await mock.close();
  await Deno.remove(home, { recursive: true }).catch(() => {});
}
