import assert from "node:assert/strict";
import {
  backoffMs,
  nextMidnightPacific,
  nextMidnightUtc,
  parseDurationMs,
  retryHintUntil,
} from "../../src/core/cooldown.ts";
import { classifyOpenRouterFailure } from "../../src/providers/openrouter/errors.ts";
import { KeyPool } from "../../src/state/keys.ts";
import { parseElement, policyOrder } from "../../src/state/routes.ts";
import { effectiveModelString, resolveModel } from "../../src/routing/target.ts";

const NOW = Date.UTC(2026, 10, 27, 15, 30, 0); // 2026-11-27 15:30 UTC

Deno.test("retry hints: Retry-After seconds and HTTP date, retry-after-ms, X-RateLimit-Reset ms epoch", () => {
  assert.equal(retryHintUntil(new Headers({ "retry-after": "7" }), undefined, NOW), NOW + 7000);
  const date = new Date(NOW + 90_000).toUTCString();
  assert.equal(retryHintUntil(new Headers({ "retry-after": date }), undefined, NOW), NOW + 90_000);
  assert.equal(retryHintUntil(new Headers({ "retry-after-ms": "1500" }), undefined, NOW), NOW + 1500);
  assert.equal(
    retryHintUntil(new Headers({ "x-ratelimit-reset": String(NOW + 42_000) }), undefined, NOW),
    NOW + 42_000,
  );
  assert.equal(retryHintUntil(undefined, { "X-RateLimit-Reset": String(NOW + 5000) }, NOW), NOW + 5000);
  assert.equal(retryHintUntil(new Headers({ "retry-after": "soon" }), undefined, NOW), undefined);
  assert.equal(retryHintUntil(new Headers(), undefined, NOW), undefined);
  assert.equal(parseDurationMs("37s"), 37_000);
  assert.equal(parseDurationMs("1.5s"), 1500);
  assert.equal(parseDurationMs("x"), undefined);
});

Deno.test("calendar resets: next 00:00 UTC and next midnight Pacific (PST and PDT)", () => {
  assert.equal(nextMidnightUtc(NOW), Date.UTC(2026, 10, 28));
  // November: PST (UTC-8). 15:30 UTC = 07:30 PST → next midnight is 2026-11-28 08:00 UTC.
  assert.equal(nextMidnightPacific(NOW), Date.UTC(2026, 10, 28, 8));
  // July: PDT (UTC-7).
  assert.equal(nextMidnightPacific(Date.UTC(2026, 6, 1, 6, 59)), Date.UTC(2026, 6, 1, 7));
  assert.equal(nextMidnightPacific(Date.UTC(2026, 6, 1, 7, 0, 1)), Date.UTC(2026, 6, 2, 7));
});

Deno.test("back-off without a hint: 30 s doubling to 1 h", () => {
  assert.deepEqual([1, 2, 3, 8, 20].map(backoffMs), [30_000, 60_000, 120_000, 3_600_000, 3_600_000]);
});

Deno.test("OpenRouter failures are classified as SPEC §5.2 says", () => {
  const c = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    classifyOpenRouterFailure(
      status,
      new Headers(headers),
      JSON.stringify(body),
      "OPENROUTER_API_KEY_2",
      "openrouter",
      NOW,
    );
  const perMin = c(429, {
    error: {
      code: 429,
      message: "Rate limit exceeded: free-models-per-min. ",
      metadata: { headers: { "X-RateLimit-Reset": String(NOW + 20_000) } },
    },
  });
  assert.equal(perMin.action, "next-key");
  assert.deepEqual(perMin.cooldown, {
    scope: "key-free",
    untilMs: NOW + 20_000,
    reason: "free-models-per-min",
  });
  const perDay = c(429, {
    error: { code: 429, message: "Rate limit exceeded: free-models-per-day. Add 10 credits" },
  });
  assert.equal(perDay.cooldown?.scope, "key-free");
  assert.equal(perDay.cooldown?.untilMs, Date.UTC(2026, 10, 28));
  const provider = c(429, {
    error: {
      code: 429,
      message: "Provider returned error",
      metadata: { raw: "x:free is temporarily rate-limited upstream" },
    },
  });
  assert.equal(provider.action, "next-element");
  assert.equal(provider.cooldown, undefined);
  const plain = c(429, { error: { code: 429, message: "slow down" } }, { "retry-after": "3" });
  assert.deepEqual(plain.cooldown, { scope: "key-model", untilMs: NOW + 3000, reason: "429" });
  const noHint = c(429, { error: { code: 429, message: "slow down" } });
  assert.equal(noHint.cooldown?.untilMs, undefined, "the pool applies its back-off");
  const auth = c(401, { error: { code: 401, message: "User not found." } });
  assert.equal(auth.status, 502);
  assert.equal(auth.code, "upstream_auth_failed");
  assert.deepEqual(auth.cooldown, { scope: "key", reason: "401 invalid key", disable: true });
  assert.match(auth.message, /OPENROUTER_API_KEY_2/);
  const credits = c(402, { error: { code: 402, message: "Insufficient credits" } });
  assert.deepEqual(credits.cooldown, {
    scope: "key-model",
    untilMs: NOW + 600_000,
    reason: "402 no credits",
    auth: true,
  });
  const moderation = c(403, { error: { code: 403, message: "flagged" } });
  assert.equal(moderation.action, "return");
  assert.equal(moderation.status, 403);
  assert.equal(c(404, { error: { code: 404, message: "No endpoints found" } }).action, "next-element");
  for (const s of [500, 502, 503]) {
    assert.equal(c(s, { error: { code: s, message: "down" } }).action, "next-key");
  }
  const bad = c(400, { error: { code: "invalid_param", message: "bad" } });
  assert.equal(bad.action, "return");
  assert.equal(bad.code, "invalid_param");
  assert.equal(classifyOpenRouterFailure(500, undefined, "<html>", undefined, "openrouter", NOW).status, 502);
});

Deno.test("key pool: round-robin advances per request, fill-first does not; cool-downs by scope", () => {
  let now = NOW;
  const keys = ["A", "B", "C"].map((l) => ({ label: l, value: `${l}-value-xxxxxx` }));
  const rr = new KeyPool("openrouter", keys, "round-robin", () => now);
  assert.deepEqual(
    [rr.rotation(), rr.rotation(), rr.rotation(), rr.rotation()].map((r) => r.map((k) => k.label).join("")),
    [
      "ABC",
      "BCA",
      "CAB",
      "ABC",
    ],
  );
  const ff = new KeyPool("openrouter", keys, "fill-first", () => now);
  assert.equal(ff.rotation()[0].label, "A");
  assert.equal(ff.rotation()[0].label, "A");
  ff.cool("A", "m:free", { scope: "key-free", untilMs: now + 1000, reason: "x" });
  assert.equal(ff.coolingUntil("A", "other:free"), now + 1000, "all :free models");
  assert.equal(ff.coolingUntil("A", "paid"), undefined, "paid models unaffected");
  ff.cool("B", "m1", { scope: "key-model", untilMs: now + 500, reason: "x" });
  assert.equal(ff.coolingUntil("B", "m2"), undefined);
  ff.cool("C", "m1", { scope: "key", untilMs: now + 700, reason: "x" });
  assert.equal(ff.coolingUntil("C", "anything"), now + 700);
  const r1 = ff.cool("B", "m3", { scope: "key-model", reason: "no hint" });
  const r2 = ff.cool("B", "m3", { scope: "key-model", reason: "no hint" });
  assert.equal(r1.until - now, 30_000);
  assert.equal(r2.until - now, 60_000, "doubling");
  now += 2000;
  assert.equal(ff.coolingUntil("A", "x:free"), undefined, "expired");
  assert.equal(ff.active().length, 1);
});

Deno.test("route policies produce the exact attempt orders of SPEC §6", () => {
  const fmt = (p: { element: number; key: number }[]) =>
    p.map((x) => `${x.element}${x.key === -1 ? "*" : x.key}`).join(" ");
  assert.equal(fmt(policyOrder("k", [3, 2])), "00 01 02");
  assert.equal(fmt(policyOrder("m", [3, 2])), "0* 1*");
  assert.equal(fmt(policyOrder("km", [3, 2])), "00 01 02 10 11");
  assert.equal(fmt(policyOrder("mk", [3, 2])), "00 10 01 11 02");
  assert.equal(fmt(policyOrder("mk", [])), "");
  assert.deepEqual(parseElement("openrouter:a/b:free", ["openrouter"]), {
    backend: "openrouter",
    model: "a/b:free",
  });
  assert.equal(parseElement("nope:a", ["openrouter"]), undefined);
  assert.equal(parseElement("openrouter:", ["openrouter"]), undefined);
});

Deno.test("model strings resolve as SPEC §4.1; overrides in §4.3 order", () => {
  const ctx = {
    aliases: { fast: "openrouter:openai/gpt-4o-mini" },
    backends: ["openrouter", "gemini"],
    isRoute: (n: string) => n === "smart",
    defaultBackend: "openrouter",
    knownModels: () => ["meta-llama/llama-3.3-70b-instruct:free"],
  };
  assert.deepEqual(resolveModel("gemini:gemini-2.5-flash", ctx), {
    kind: "model",
    backend: "gemini",
    model: "gemini-2.5-flash",
  });
  assert.deepEqual(resolveModel("fast", ctx), {
    kind: "model",
    backend: "openrouter",
    model: "openai/gpt-4o-mini",
  });
  assert.deepEqual(resolveModel("smart", ctx), { kind: "route", name: "smart" });
  assert.deepEqual(resolveModel("meta-llama/llama-3.3-70b-instruct:free", ctx), {
    kind: "model",
    backend: "openrouter",
    model: "meta-llama/llama-3.3-70b-instruct:free",
  });
  assert.throws(() => resolveModel("nosuch:thing", ctx), /unknown backend|Unknown backend/);
  assert.deepEqual(resolveModel("nosuch:thing", { ...ctx, knownModels: () => undefined }), {
    kind: "model",
    backend: "openrouter",
    model: "nosuch:thing",
  });
  assert.throws(() => resolveModel("gemini:", ctx), /names no model/);
  // A name the default backend does not list but exactly one other backend does goes to that one (§4.1 step 4).
  const lists = (m: Record<string, string[]>) => ({ ...ctx, knownModels: (b: string) => m[b] });
  assert.deepEqual(
    resolveModel("gemini-2.5-flash", lists({ openrouter: ["x/y"], gemini: ["gemini-2.5-flash"] })),
    { kind: "model", backend: "gemini", model: "gemini-2.5-flash" },
  );
  assert.deepEqual(
    resolveModel(
      "gemini-2.5-flash",
      lists({ openrouter: ["gemini-2.5-flash"], gemini: ["gemini-2.5-flash"] }),
    ),
    { kind: "model", backend: "openrouter", model: "gemini-2.5-flash" },
    "the default backend wins when it lists the name",
  );
  const three = {
    ...lists({ openrouter: ["x/y"], gemini: ["m"], openai: ["m"] }),
    backends: [...ctx.backends, "openai"],
  };
  assert.deepEqual(
    resolveModel("m", three),
    { kind: "model", backend: "openrouter", model: "m" },
    "two others list it",
  );
  assert.deepEqual(
    resolveModel("m", lists({ gemini: ["m"] })),
    { kind: "model", backend: "openrouter", model: "m" },
    "the default backend's list is not known yet",
  );
  const b = ["openrouter", "gemini"];
  assert.equal(
    effectiveModelString("c", { sessionModel: "s", sessionBackend: "gemini", forceModel: "f" }, b),
    "s",
  );
  assert.equal(
    effectiveModelString("openrouter:c", { sessionBackend: "gemini", forceModel: "f" }, b),
    "gemini:c",
  );
  assert.equal(effectiveModelString("c", { forceModel: "f" }, b), "f");
  assert.equal(effectiveModelString("c", {}, b), "c");
});

Deno.test("announced budgets (X-RateLimit-Remaining) make a key cool before it would get a 429", () => {
  let now = NOW;
  const keys = [{ label: "A", value: "A-value-xxxxxx" }];
  const pool = new KeyPool("openrouter", keys, "fill-first", () => now);
  pool.note("A", "x:free", 2, now + 10_000);
  pool.reserve("A", "y:free");
  assert.equal(pool.coolingUntil("A", "x:free"), undefined, "one left");
  pool.reserve("A", "x:free");
  assert.equal(pool.coolingUntil("A", "z:free"), now + 10_000, "budget of all :free models spent");
  pool.note("A", "x:free", 1, now + 10_000);
  assert.equal(
    pool.coolingUntil("A", "x:free"),
    now + 10_000,
    "an older, higher count never raises the budget",
  );
  now += 10_001;
  assert.equal(pool.coolingUntil("A", "x:free"), undefined, "free again after the reset");
});
