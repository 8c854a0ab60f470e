import assert from "node:assert/strict";
import {
  credentialsHint,
  isProviderName,
  providerBaseUrl,
  providerKeyFlag,
} from "../../src/config/providers.ts";
import { optionTable } from "../../src/config/options.ts";
import { loadConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { helpText, markdownBackendTable, markdownOptionTable } from "../../src/config/help.ts";
import { PROVIDERS } from "../../src/providers/list.ts";
import type { ProviderSettings } from "../../src/runner/spec.ts";
import { demo, DEMO_PROVIDERS } from "../support/demo_provider/spec.ts";
import { inProcessProxy } from "../support/in_process.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";

const NO_HOME = { HOME: "/nonexistent" };

Deno.test("the provider list is in SPEC §4.2 start-up order, with unique names", () => {
  assert.deepEqual(PROVIDERS.map((p) => p.name), [
    "openrouter",
    "gemini",
    "gemini-cli-direct",
    "openai",
    "anthropic",
  ]);
  assert.ok(isProviderName(PROVIDERS, "gemini-cli-direct"));
  assert.ok(!isProviderName(PROVIDERS, "local"));
});

Deno.test("every provider's key and base-URL settings have a row in the option table", () => {
  const rows = optionTable(PROVIDERS);
  for (const p of PROVIDERS) {
    for (const key of [p.keySetting, p.baseUrlSetting]) {
      if (key) assert.ok(rows.some((o) => o.key === key), `${p.name}: no option row for ${key}`);
    }
    assert.ok(p.keyEnv || p.needs, `${p.name} says neither its key variable nor what else it needs`);
  }
  assert.equal(providerKeyFlag(PROVIDERS[0]), "--openrouter-api-key");
  assert.equal(providerKeyFlag(PROVIDERS[2]), undefined);
});

Deno.test("config reads key pools and base URLs from the provider list", async () => {
  const cfg = await loadConfig(PROVIDERS, ["--gemini-api-key", "flag-key-value"], {
    OPENROUTER_API_KEY_1: "or-one",
    OPENROUTER_API_KEY_3: "or-three",
    ...NO_HOME,
  }, "/nonexistent");
  // A pool for each provider with a key variable, in list order.
  assert.deepEqual(Object.keys(cfg.pools), PROVIDERS.filter((p) => p.keyEnv).map((p) => p.name));
  assert.ok("openai" in cfg.pools && !("gemini-cli-direct" in cfg.pools));
  assert.deepEqual(cfg.pools.openrouter.map((k) => k.label), [
    "OPENROUTER_API_KEY_1",
    "OPENROUTER_API_KEY_3",
  ]);
  assert.deepEqual(cfg.pools.gemini, [{ label: "--gemini-api-key", value: "flag-key-value" }]);
  assert.equal(providerBaseUrl(PROVIDERS[0], cfg.values), "https://openrouter.ai/api/v1");
  assert.equal(providerBaseUrl(PROVIDERS[2], cfg.values), undefined);
});

Deno.test("the 'no backend' hint names every key variable, then what keyless providers need", () => {
  assert.equal(
    credentialsHint(PROVIDERS),
    "Set OPENROUTER_API_KEY or GEMINI_API_KEY or OPENAI_API_KEY or ANTHROPIC_API_KEY (or install the gemini CLI)",
  );
});

/** True when A and B are the same type (a compile-time check: a wrong field type fails `deno check`). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

Deno.test("each provider's settings are typed from its own option rows", () => {
  type S = ProviderSettings<typeof PROVIDERS>;
  const typed: [
    Same<S["openrouterApiKey"], string | undefined>,
    Same<S["openaiApiBaseUrl"], string>,
    Same<S["geminiCliConcurrency"], number>,
    Same<S["geminiCliModels"], string[]>,
    Same<ProviderSettings<readonly [typeof demo]>["demoTenant"], "acme" | "globex">,
  ] = [true, true, true, true, true];
  assert.ok(typed.every(Boolean));
});

// A provider is one folder plus one list line: tests/support/demo_provider/spec.ts and DEMO_PROVIDERS.

Deno.test("a new provider's folder and list line put its rows and key pool in --help and README's tables", () => {
  const help = helpText(DEMO_PROVIDERS);
  assert.match(help.split("\n")[0], /for OpenRouter, .*, Demo API and any/);
  assert.match(
    help,
    /\n {2}--demo-api-base-url URL +Demo API base URL\. \[default https:\/\/demo\.invalid\/v1; env DEMO_API_BASE_URL\]\n/,
  );
  assert.match(
    help,
    /\n {2}--demo-tenant TENANT +Tenant sent to the demo upstream\. \[default acme; env LLMPROXY_DEMO_TENANT\]\n/,
  );
  assert.match(help, /\n {2}DEMO_API_KEY or DEMO_API_KEY_1\.\.N +Demo API key pool\n/);
  // Its rows follow the built-in providers' rows, before the rest of the table.
  const flags = optionTable(DEMO_PROVIDERS).map((o) => o.flag);
  const lastBuiltIn = PROVIDERS[PROVIDERS.length - 1].options.at(-1)!.flag;
  assert.equal(flags.indexOf("demo-api-key"), flags.indexOf(lastBuiltIn) + 1);
  assert.ok(!helpText(PROVIDERS).includes("demo"), "the built-in list does not have it");

  assert.match(
    markdownBackendTable(DEMO_PROVIDERS),
    /\| `demo` \| `DEMO_API_KEY` or `DEMO_API_KEY_1\.\.N` \| `demo:demo-model` \|/,
  );
  assert.match(
    markdownOptionTable(DEMO_PROVIDERS),
    /\| `--demo-tenant TENANT` \| `LLMPROXY_DEMO_TENANT` \| `demo_tenant` \| acme \|/,
  );
  assert.match(credentialsHint(DEMO_PROVIDERS), /or DEMO_API_KEY \(or install/);
});

Deno.test("a new provider's keys, settings and config-file keys load, and its values are checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ok.json`, '{"demo_tenant": "globex"}');
    const cfg = await loadConfig(DEMO_PROVIDERS, ["--config", `${dir}/ok.json`], {
      DEMO_API_KEY_1: "demo-one",
      DEMO_API_KEY_3: "demo-three",
      DEMO_API_BASE_URL: "http://127.0.0.1:9/v1",
      ...NO_HOME,
    }, dir);
    assert.deepEqual(cfg.pools.demo.map((k) => k.label), ["DEMO_API_KEY_1", "DEMO_API_KEY_3"]);
    assert.equal(cfg.values.demoTenant, "globex");
    assert.equal(cfg.sources.demoTenant, "config");
    assert.equal(providerBaseUrl(demo, cfg.values), "http://127.0.0.1:9/v1");
    const byFlag = await loadConfig(DEMO_PROVIDERS, ["--demo-api-key", "flag-key"], NO_HOME, dir);
    assert.deepEqual(byFlag.pools.demo, [{ label: "--demo-api-key", value: "flag-key" }]);

    const refused = async (args: string[], env: Record<string, string>, re: RegExp) => {
      await assert.rejects(loadConfig(DEMO_PROVIDERS, args, { ...NO_HOME, ...env }, dir), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, re);
        return true;
      });
    };
    await refused(["--demo-tenant", "initech"], {}, /--demo-tenant: expected one of acme, globex/);
    await refused(
      [],
      { DEMO_API_BASE_URL: "ftp://x" },
      /environment variable DEMO_API_BASE_URL: expected an http\(s\) URL/,
    );
    await refused(
      [],
      { DEMO_API_KEY: "a-key", DEMO_API_KEY_1: "b-key" },
      /both DEMO_API_KEY and DEMO_API_KEY_1/,
    );
    await Deno.writeTextFile(`${dir}/secret.json`, '{"demo_api_key": "x"}');
    await refused(
      ["--config", `${dir}/secret.json`],
      {},
      /field \(top level\): unknown field\(s\) demo_api_key/,
    );
    await Deno.writeTextFile(
      `${dir}/taken.json`,
      '{"backends": {"demo": {"type": "openai", "base_url": "http://127.0.0.1:9", "api_key_env": "X_KEY"}}}',
    );
    await refused(["--config", `${dir}/taken.json`], {}, /backends\.demo: 'demo' is a built-in backend name/);
    // The built-in list does not know it.
    await assert.rejects(
      loadConfig(PROVIDERS, ["--demo-tenant", "acme"], NO_HOME, dir),
      /Unknown option '--demo-tenant'/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a new provider serves requests: its factory gets its own typed settings and key pool", async () => {
  const mock = MockOpenAI.start();
  const proxy = await inProcessProxy(["--demo-tenant", "globex"], {
    DEMO_API_BASE_URL: mock.url,
    DEMO_API_KEY_2: "demo-key-two-xxxxxxxx",
    LLM_INTERACTIVE_PROXY_API_KEY: "client-key-xxxxxxxx",
  }, { providers: DEMO_PROVIDERS });
  try {
    assert.equal(proxy.ctx.defaultBackend, "demo", "the first functional backend: only it has a key");
    const answer = await proxy.client("client-key-xxxxxxxx").chat.completions.create({
      model: "demo:demo-model",
      messages: [{ role: "user", content: "hello" }],
    });
    assert.equal(answer.choices[0].message.content, "Echo from demo-model: hello");
    const sent = mock.chats[0];
    assert.equal(sent.key, "demo-key-two-xxxxxxxx");
    assert.equal(sent.headers["x-demo-tenant"], "globex");
    const health = await (await proxy.fetch("/health")).json();
    assert.equal(health.backends.demo.keys, 1);
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("two providers claiming one flag or field is refused when the table is built", () => {
  const clash = {
    ...demo,
    options: [{ ...demo.options[1], key: "demoPort", flag: "port", env: ["DEMO_PORT"] }],
  };
  assert.throws(() => optionTable([...PROVIDERS, clash]), /--port is used by two rows/);
});
