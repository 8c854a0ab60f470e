import assert from "node:assert/strict";
import { discoverKeys, loadConfig, parseBool, prefixProblem } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { helpText, markdownBackendTable, markdownOptionTable } from "../../src/config/help.ts";
import { envNames, optionTable } from "../../src/config/options.ts";
import { PROVIDERS } from "../../src/providers/list.ts";
import { VERSION } from "../../src/core/version.ts";

async function tmpDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-cfg-" });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  return dir;
}

async function load(args: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const dir = await tmpDir(files);
  try {
    const fixed = args.map((a) => a.replace("$DIR", dir));
    return await loadConfig(PROVIDERS, fixed, env, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function loadError(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  try {
    await load(args, env, files);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("defaults apply when nothing is given", async () => {
  const c = await load([]);
  assert.equal(c.settings.port, 8000);
  assert.equal(c.settings.host, "127.0.0.1");
  assert.equal(c.settings.commandPrefix, "!/");
  assert.equal(c.settings.maxWait, 5);
  assert.equal(c.settings.maxAttempts, 10);
  assert.equal(c.settings.interactiveMode, true);
  assert.equal(c.settings.redactApiKeysInPrompts, true);
  assert.equal(c.sources.port, "default");
});

Deno.test("precedence: flag > env > .env > config file > default", async () => {
  const config = JSON.stringify({ port: 7001, command_prefix: "#/", max_wait: 9, timeout: 11 });
  const files = { "c.json": config, ".env": "LLMPROXY_MAX_WAIT=8\nPROXY_TIMEOUT=12\nPROXY_PORT=7003\n" };
  const c = await load(["--config", "$DIR/c.json", "--port", "7002"], {
    PROXY_PORT: "7004",
    PROXY_TIMEOUT: "13",
  }, files);
  assert.equal(c.settings.port, 7002, "flag wins");
  assert.equal(c.sources.port, "flag");
  assert.equal(c.settings.timeout, 13, "real env wins over .env");
  assert.equal(c.settings.maxWait, 8, ".env wins over the config file");
  assert.equal(c.sources.maxWait, "env");
  assert.equal(c.settings.commandPrefix, "#/", "config file wins over the default");
  assert.equal(c.sources.commandPrefix, "config");
  assert.equal(c.chain("port"), 7002);
});

Deno.test("inverted boolean env names and config keys of the original program", async () => {
  const a = await load([], { DISABLE_INTERACTIVE_MODE: "yes", REDACT_API_KEYS_IN_PROMPTS: "Off" });
  assert.equal(a.settings.interactiveMode, false);
  assert.equal(a.settings.redactApiKeysInPrompts, false);
  const b = await load(["--config", "$DIR/c.json"], {}, {
    "c.json": JSON.stringify({ interactive_mode: false, redact_api_keys_in_prompts: false }),
  });
  assert.equal(b.settings.interactiveMode, false);
  assert.equal(b.settings.redactApiKeysInPrompts, false);
  const c = await load(["--disable-interactive-mode", "--disable-redact-api-keys-in-prompts"], {
    DISABLE_INTERACTIVE_MODE: "false",
  });
  assert.equal(c.settings.interactiveMode, false, "the flag beats the env var");
  assert.equal(c.settings.redactApiKeysInPrompts, false);
});

Deno.test("booleans accept true/false/1/0/yes/no/on/off in any case and nothing else", async () => {
  for (const t of ["true", "TRUE", "1", "yes", "On"]) assert.equal(parseBool(t), true);
  for (const f of ["false", "0", "no", "OFF"]) assert.equal(parseBool(f), false);
  assert.equal(parseBool("maybe"), undefined);
  const msg = await loadError([], { DISABLE_AUTH: "maybe" });
  assert.match(msg, /DISABLE_AUTH/);
});

Deno.test("bad flags and values name what is wrong", async () => {
  assert.match(await loadError(["--bogus"]), /bogus/);
  assert.match(await loadError(["--port", "abc"]), /--port: expected an integer from 0 to 65535/);
  assert.match(await loadError(["--port", "70000"]), /--port/);
  assert.match(
    await loadError(["--key-strategy", "random"]),
    /--key-strategy: expected one of round-robin, fill-first/,
  );
  assert.match(await loadError(["--timeout", "-1"]), /--timeout/);
  assert.match(await loadError([], { LLMPROXY_MAX_ATTEMPTS: "0" }), /LLMPROXY_MAX_ATTEMPTS/);
  assert.match(await loadError(["--command-prefix", "!!"]), /may not repeat/);
  assert.match(await loadError(["--command-prefix", "a b"]), /whitespace/);
  assert.match(await loadError(["--disable-auth", "--host", "0.0.0.0"]), /loopback/);
  assert.match(await loadError(["--openrouter-api-base-url", "ftp://x"]), /openrouter-api-base-url/);
  assert.match(await loadError(["--port"]), /port/);
});

Deno.test("config file problems name the file and the field", async () => {
  assert.match(await loadError(["--config", "$DIR/missing.json"]), /missing\.json: cannot read/);
  assert.match(
    await loadError(["--config", "$DIR/c.json"], {}, { "c.json": "{nope" }),
    /c\.json: not valid JSON/,
  );
  assert.match(
    await loadError(["--config", "$DIR/c.json"], {}, {
      "c.json": '{"failover_routes":{"r":{"policy":"x","elements":[]}}}',
    }),
    /field failover_routes\.r\.policy/,
  );
  assert.match(
    await loadError(["--config", "$DIR/c.json"], {}, { "c.json": '{"prot": 1}' }),
    /unknown field\(s\) prot/,
  );
  assert.match(await loadError(["--config", "$DIR/c.json"], {}, { "c.json": '{"port": "x"}' }), /field port/);
  assert.match(
    await loadError(["--config", "$DIR/c.json"], {}, {
      "c.json": '{"backends":{"openrouter":{"type":"openai","base_url":"http://x","api_key_env":"K"}}}',
    }),
    /built-in backend name/,
  );
});

Deno.test("key pools: single or numbered with gaps, never both; flags replace the env pool", async () => {
  assert.deepEqual(
    discoverKeys({ K_10: "ten-aaaaaaaa", K_2: "two-aaaaaaaa", K_1: "one-aaaaaaaa", K_X: "no" }, "K").map((
      k,
    ) => k.label),
    ["K_1", "K_2", "K_10"],
  );
  assert.deepEqual(discoverKeys({ K: "single-aaaa" }, "K").map((k) => k.label), ["K"]);
  assert.throws(() => discoverKeys({ K: "a-aaaaaaaa", K_1: "b-aaaaaaaa" }, "K"), /both K and K_1/);
  const msg = await loadError([], {
    OPENROUTER_API_KEY: "x".repeat(20),
    OPENROUTER_API_KEY_3: "y".repeat(20),
  });
  assert.match(msg, /OPENROUTER_API_KEY_3/);
  const c = await load(["--openrouter-api-key", "flag-key-value-123"], {
    OPENROUTER_API_KEY_1: "env-key-value-1234",
  });
  assert.deepEqual(c.pools.openrouter.map((k) => k.label), ["--openrouter-api-key"]);
  const d = await load([], { GEMINI_API_KEY_1: "g1-aaaaaaaa", GEMINI_API_KEY_4: "g4-aaaaaaaa" });
  assert.deepEqual(d.pools.gemini.map((k) => k.label), ["GEMINI_API_KEY_1", "GEMINI_API_KEY_4"]);
});

Deno.test("extra backends from the config file get their own pools", async () => {
  const c = await load(["--config", "$DIR/c.json"], { LOCAL_KEY_1: "local-key-value-1" }, {
    "c.json": JSON.stringify({
      backends: { local: { type: "openai", base_url: "http://127.0.0.1:9/v1", api_key_env: "LOCAL_KEY" } },
      model_aliases: { "gpt-4o": "openrouter:openai/gpt-4o" },
    }),
  });
  assert.deepEqual(c.extraBackends.map((b) => b.name), ["local"]);
  assert.deepEqual(c.pools.local.map((k) => k.label), ["LOCAL_KEY_1"]);
  assert.equal(c.file?.model_aliases?.["gpt-4o"], "openrouter:openai/gpt-4o");
});

Deno.test("prefix rules", () => {
  assert.equal(prefixProblem("!/"), undefined);
  assert.equal(prefixProblem("$$$"), undefined);
  assert.match(prefixProblem("!")!, /2 to 10/);
  assert.match(prefixProblem("//")!, /repeat/);
  assert.match(prefixProblem("12345678901")!, /2 to 10/);
});

Deno.test("--help lists every option and its env name; README has the generated table", async () => {
  const help = helpText(PROVIDERS);
  for (const o of optionTable(PROVIDERS)) {
    assert.ok(help.includes(`--${o.flag}`), `--help lacks --${o.flag}`);
    for (const e of envNames(o).slice(0, 1)) assert.ok(help.includes(e), `--help lacks ${e}`);
  }
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  // deno fmt pads Markdown tables: compare cell by cell.
  const norm = (t: string) =>
    t.split("\n").map((l) => l.split("|").map((c) => c.trim().replace(/^-+$/, "-")).join("|")).join("\n");
  assert.ok(
    norm(readme).includes(norm(markdownOptionTable(PROVIDERS))),
    "README.md's option table is out of date: paste the output of `deno task options-table`",
  );
  assert.ok(
    norm(readme).includes(norm(markdownBackendTable(PROVIDERS))),
    "README.md's backend table is out of date: paste the output of `deno task options-table`",
  );
});

Deno.test("the version has one source: deno.json agrees with src/core/version.ts", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(denoJson.version, VERSION);
});

Deno.test("--help marks an env name '(inverted)' exactly when VAR=true does the opposite of the flag", async () => {
  const help = helpText(PROVIDERS);
  for (const o of optionTable(PROVIDERS).filter((o) => o.kind === "bool")) {
    const env = envNames(o)[0];
    const byFlag = (await loadConfig(PROVIDERS, [`--${o.flag}`, "--disable-auth"], {}, "/tmp")).values[o.key];
    const byEnv = (await loadConfig(PROVIDERS, ["--disable-auth"], { [env]: "true" }, "/tmp")).values[o.key];
    const row = help.split("\n").find((l) => l.trimStart().startsWith(`--${o.flag} `))!;
    assert.equal(row.includes(`${env} (inverted)`), byFlag !== byEnv, `--${o.flag} / ${env}`);
  }
});

Deno.test(".env.example names only variables llmproxy reads, and every provider's key pool", async () => {
  const text = await Deno.readTextFile(new URL("../../.env.example", import.meta.url));
  const names = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  const pools = [...PROVIDERS.flatMap((p) => (p.keyEnv ? [p.keyEnv] : [])), "LLM_INTERACTIVE_PROXY_API_KEY"];
  const known = new Set(optionTable(PROVIDERS).flatMap((o) => o.env ?? []));
  for (const n of names) {
    assert.ok(
      known.has(n) || pools.some((p) => n === p || new RegExp(`^${p}_\\d+$`).test(n)),
      `unknown ${n}`,
    );
  }
  for (const p of pools) assert.ok(names.some((n) => n.startsWith(p)), `.env.example lacks ${p}`);
});
