import assert from "node:assert/strict";
import { classifyInBandError, classifyOpenAIFailure } from "../../src/providers/openai_compatible/errors.ts";
import { classifyOpenRouterFailure } from "../../src/providers/openrouter/errors.ts";

const NOW = Date.UTC(2026, 10, 27, 15, 30, 0); // 2026-11-27 15:30 UTC
const body = (message: string, metadata?: Record<string, unknown>) =>
  JSON.stringify({ error: { code: 429, message, ...(metadata ? { metadata } : {}) } });

Deno.test("OpenRouter's 429 rules are OpenRouter's: another OpenAI-compatible backend gets the generic rule", () => {
  const perDay = body("Rate limit exceeded: free-models-per-day. Add 10 credits");
  const generic = classifyOpenAIFailure(429, new Headers(), perDay, "LOCAL_KEY_1", "local", NOW);
  assert.equal(generic.action, "next-key");
  assert.deepEqual(generic.cooldown, { scope: "key-model", untilMs: undefined, reason: "429" });
  assert.match(generic.message, /^local: key LOCAL_KEY_1 is rate-limited/);
  const own = classifyOpenRouterFailure(429, new Headers(), perDay, "OPENROUTER_API_KEY", "openrouter", NOW);
  assert.deepEqual(own.cooldown, {
    scope: "key-free",
    untilMs: Date.UTC(2026, 10, 28),
    reason: "free-models-per-day",
  });

  const perMin = body("Rate limit exceeded: free-models-per-min.");
  assert.equal(classifyOpenAIFailure(429, undefined, perMin, "K", "local", NOW).cooldown?.scope, "key-model");
  assert.equal(
    classifyOpenRouterFailure(429, undefined, perMin, "K", "openrouter", NOW).cooldown?.scope,
    "key-free",
  );

  const upstream = body("Provider returned error", { raw: "x:free is temporarily rate-limited upstream" });
  assert.equal(classifyOpenAIFailure(429, undefined, upstream, "K", "local", NOW).action, "next-key");
  assert.equal(
    classifyOpenRouterFailure(429, undefined, upstream, "K", "openrouter", NOW).action,
    "next-element",
  );
});

Deno.test("an in-band stream error is classified by the backend's own rules", () => {
  const error = { code: 429, message: "Rate limit exceeded: free-models-per-day." };
  assert.equal(classifyInBandError(error, "K", "local").cooldown?.scope, "key-model");
  assert.equal(
    classifyInBandError(error, "K", "openrouter", (t) => t, classifyOpenRouterFailure).cooldown?.reason,
    "free-models-per-day",
  );
});
