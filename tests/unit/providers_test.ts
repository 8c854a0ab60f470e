import assert from "node:assert/strict";
import {
  credentialsHint,
  isProviderName,
  providerBaseUrl,
  providerKeyFlag,
  PROVIDERS,
} from "../../src/config/providers.ts";
import { OPTIONS } from "../../src/config/options.ts";
import { loadConfig } from "../../src/config/load.ts";

Deno.test("the provider list is in SPEC §4.2 start-up order, with unique names", () => {
  assert.deepEqual(PROVIDERS.map((p) => p.name), [
    "openrouter",
    "gemini",
    "gemini-cli-direct",
    "openai",
    "anthropic",
  ]);
  assert.ok(isProviderName("gemini-cli-direct"));
  assert.ok(!isProviderName("local"));
});

Deno.test("every provider's key and base-URL settings have a row in the option table", () => {
  for (const p of PROVIDERS) {
    for (const key of [p.keySetting, p.baseUrlSetting]) {
      if (key) assert.ok(OPTIONS.some((o) => o.key === key), `${p.name}: no option row for ${key}`);
    }
    assert.ok(p.keyEnv || p.needs, `${p.name} says neither its key variable nor what else it needs`);
  }
  assert.equal(providerKeyFlag(PROVIDERS[0]), "--openrouter-api-key");
  assert.equal(providerKeyFlag(PROVIDERS[2]), undefined);
});

Deno.test("config reads key pools and base URLs from the provider list", async () => {
  const cfg = await loadConfig(["--gemini-api-key", "flag-key-value"], {
    OPENROUTER_API_KEY_1: "or-one",
    OPENROUTER_API_KEY_3: "or-three",
    HOME: "/nonexistent",
  }, "/nonexistent");
  assert.deepEqual(Object.keys(cfg.pools), ["openrouter", "gemini", "openai", "anthropic"]);
  assert.deepEqual(cfg.pools.openrouter.map((k) => k.label), [
    "OPENROUTER_API_KEY_1",
    "OPENROUTER_API_KEY_3",
  ]);
  assert.deepEqual(cfg.pools.gemini, [{ label: "--gemini-api-key", value: "flag-key-value" }]);
  assert.equal(providerBaseUrl(PROVIDERS[0], cfg.settings), "https://openrouter.ai/api/v1");
  assert.equal(providerBaseUrl(PROVIDERS[2], cfg.settings), undefined);
});

Deno.test("the 'no backend' hint names every key variable, then what keyless providers need", () => {
  assert.equal(
    credentialsHint(),
    "Set OPENROUTER_API_KEY or GEMINI_API_KEY or OPENAI_API_KEY or ANTHROPIC_API_KEY (or install the gemini CLI)",
  );
});
