/**
 * The attempt engine (SPEC §5.3, §6, §19) without real time: the planner's tables (policy × cool-downs ×
 * turns × wait × deadline × auth) and the executor driven by a fake clock and a fake backend. Nothing sleeps.
 */
import assert from "node:assert/strict";
import type { AttemptInput, AttemptResult, Backend, UpstreamFailure } from "../../src/runner/backend.ts";
import type { RoutePolicy } from "../../src/config/file.ts";
import type { KeyEntry } from "../../src/config/load.ts";
import type { ChatRequest } from "../../src/model/request.ts";
import type { Clock } from "../../src/routing/clock.ts";
import { dispatch, type DispatchDeps, type DispatchResult } from "../../src/routing/dispatch.ts";
import { KeyPool } from "../../src/state/keys.ts";
import {
  decide,
  type KeySurvey,
  nextStep,
  type PassEnd,
  type Plan,
  planSteps,
  surveyKeys,
} from "../../src/routing/planner.ts";
import type { Route } from "../../src/state/routes.ts";
import type { Target } from "../../src/routing/target.ts";

const NOW = Date.UTC(2026, 10, 27, 15, 30, 0);
const BODY: ChatRequest = { model: "m", messages: [{ role: "user", content: "hi" }] } as ChatRequest;

const keys = (...labels: string[]): KeyEntry[] =>
  labels.map((label) => ({ label, value: `${label}-value-xxxx` }));

/**
 * A clock that moves only when told to or by a sleep. A sleep records what it was asked (`"2005"`), runs
 * `onSleep` (another request releases a turn, the client leaves), then ends at once when its signal aborts
 * meanwhile (`"10000 woke"`, time stands still) or else moves time by `ms` — after a zero timer, so that
 * whatever the signal waits for has settled first. No real time passes.
 */
interface FakeClock extends Clock {
  t: number;
  sleeps: string[];
  onSleep: (() => void) | undefined;
}

function fakeClock(start = NOW): FakeClock {
  const clock: FakeClock = {
    t: start,
    sleeps: [] as string[],
    onSleep: undefined as (() => void) | undefined,
    now: () => clock.t,
    sleep(ms: number, signal: AbortSignal) {
      clock.onSleep?.();
      return new Promise<void>((resolve) => {
        const woke = () => {
          clearTimeout(timer);
          clock.sleeps.push(`${ms} woke`);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener("abort", woke);
          clock.sleeps.push(String(ms));
          clock.t += ms;
          resolve();
        }, 0);
        if (signal.aborted) woke();
        else signal.addEventListener("abort", woke, { once: true });
      });
    },
  };
  return clock;
}

// ─── planner: the order of steps ────────────────────────────────────────────────────────────────────────────

const fmtPlan = (p: Plan) =>
  p.steps.map((s) =>
    `${s.element}:${s.key.kind === "rotation" ? s.key.index : s.key.kind === "first-free" ? "*" : "-"}`
  ).join(" ");

Deno.test("planner: policies name their key choices — rotation index, first free key, keyless", () => {
  const els = [
    { backend: "a", model: "x", rotation: keys("A1", "A2") },
    { backend: "cli", model: "y", rotation: [] },
  ];
  const table: [RoutePolicy, string][] = [
    ["k", "0:0 0:1"],
    ["m", "0:* 1:-"],
    ["km", "0:0 0:1 1:-"],
    ["mk", "0:0 1:- 0:1"],
  ];
  for (const [policy, want] of table) assert.equal(fmtPlan(planSteps(policy, els)), want, policy);
  assert.equal(fmtPlan(planSteps("k", [{ backend: "cli", model: "y", rotation: [] }])), "0:-");
});

/** Two elements on two backends with two keys each; the pools share one fake time. */
function twoElements(policy: RoutePolicy) {
  let t = NOW;
  const pools = {
    a: new KeyPool("a", keys("A1", "A2"), "fill-first", () => t),
    b: new KeyPool("b", keys("B1", "B2"), "fill-first", () => t),
  };
  const plan = planSteps(policy, [
    { backend: "a", model: "ma", rotation: pools.a.rotation() },
    { backend: "b", model: "mb", rotation: pools.b.rotation() },
  ]);
  const view = { pool: (name: string) => pools[name as "a" | "b"] };
  /** Every step one pass would try if no attempt taught the pools anything. */
  const pass = (skipped = new Set<number>()) => {
    const tried: string[] = [];
    for (let from = 0;;) {
      const s = nextStep(plan, from, skipped, view);
      if (!s) return tried.join(" ");
      tried.push(s.key!.label);
      from = s.index + 1;
    }
  };
  return { pools, plan, view, pass, advance: (ms: number) => (t += ms) };
}

Deno.test("planner: policy × cooling, disabled and held keys → the steps a pass tries", () => {
  const cases: { policy: RoutePolicy; setup: string; want: string }[] = [
    { policy: "k", setup: "", want: "A1 A2" },
    { policy: "m", setup: "", want: "A1 B1" },
    { policy: "km", setup: "", want: "A1 A2 B1 B2" },
    { policy: "mk", setup: "", want: "A1 B1 A2 B2" },
    { policy: "k", setup: "cool A1", want: "A2" },
    { policy: "m", setup: "cool A1", want: "A2 B1" },
    { policy: "km", setup: "cool A1", want: "A2 B1 B2" },
    { policy: "mk", setup: "cool A1", want: "B1 A2 B2" },
    { policy: "m", setup: "cool A1 A2", want: "B1" },
    { policy: "k", setup: "disable A2", want: "A1" },
    { policy: "mk", setup: "disable B1", want: "A1 A2 B2" },
    { policy: "km", setup: "hold A1", want: "A2 B1 B2" },
    { policy: "m", setup: "hold A1 cool B1", want: "A2 B2" },
    { policy: "k", setup: "cool A1 A2", want: "" },
  ];
  for (const { policy, setup, want } of cases) {
    const { pools, pass, advance } = twoElements(policy);
    let verb = "";
    for (const word of setup.split(" ").filter(Boolean)) {
      if (!/^[AB]\d$/.test(word)) {
        verb = word;
        continue;
      }
      const pool = word[0] === "A" ? pools.a : pools.b;
      const model = word[0] === "A" ? "ma" : "mb";
      if (verb === "cool") {
        pool.cool(word, model, { scope: "key-model", untilMs: NOW + 60_000, reason: "429" });
      }
      if (verb === "disable") pool.disable(word, "401");
      if (verb === "hold") {
        // A cool-down that has ended and whose first attempt is still out: the key is recovering, held.
        pool.cool(word, model, { scope: "key-model", untilMs: NOW + 1, reason: "429" });
        advance(1);
        pool.take(word, model);
      }
    }
    assert.equal(pass(), want, `${policy} with ${setup || "all free"}`);
  }
});

Deno.test("planner: a skipped element is out of the pass and of the survey", () => {
  const { pools, plan, view, pass } = twoElements("km");
  assert.equal(pass(new Set([0])), "B1 B2");
  pools.b.cool("B1", "mb", { scope: "key-model", untilMs: NOW + 9000, reason: "429" });
  pools.a.cool("A1", "ma", { scope: "key-model", untilMs: NOW + 2000, reason: "429" });
  assert.equal(surveyKeys(plan, new Set([0]), view).earliest, NOW + 9000);
  assert.equal(surveyKeys(plan, new Set(), view).earliest, NOW + 2000);
});

Deno.test("planner: the survey tells free, held, rate-limited and auth-out keys apart", () => {
  const { pools, plan, view, advance } = twoElements("mk");
  pools.a.cool("A1", "ma", { scope: "key-model", untilMs: NOW + 1, reason: "429" });
  advance(1);
  pools.a.take("A1", "ma");
  pools.a.disable("A2", "401 invalid key");
  pools.b.cool("B1", "mb", { scope: "key", untilMs: NOW + 30_000, reason: "429" });
  pools.b.cool("B2", "mb", {
    scope: "key-model",
    untilMs: NOW + 600_000,
    reason: "402 no credits",
    auth: true,
  });
  const s = surveyKeys(plan, new Set(), view);
  assert.deepEqual(
    { ...s, authOut: Object.fromEntries(s.authOut) },
    {
      free: false,
      gated: true,
      earliest: NOW + 30_000,
      rateEarliest: NOW + 30_000,
      authOut: { A2: "401 invalid key", B2: "402 no credits" },
    },
  );
});

// ─── planner: what to do when nothing can be tried now ──────────────────────────────────────────────────────

const none: KeySurvey = {
  free: false,
  gated: false,
  earliest: Infinity,
  rateEarliest: Infinity,
  authOut: new Map(),
};
const end: PassEnd = {
  now: NOW,
  deadline: NOW + 100_000,
  maxWaitMs: 10_000,
  maxAttempts: 10,
  attempts: 1,
  triedThisPass: 1,
  last: undefined,
  turnSince: undefined,
  what: "a:m",
};
const failure = (
  status: number,
  code: string,
  action: UpstreamFailure["action"] = "next-key",
): UpstreamFailure => ({
  action,
  status,
  type: status === 429 ? "rate_limit_error" : "api_error",
  code,
  message: `upstream ${status}`,
  outcome: String(status),
});
const http429 = failure(429, "rate_limit_exceeded");

/** A decision in a few words: `wait 2005`, `wait 10000 on release`, `429 retry-after=3 no-retry`, … */
function fmtDecision(survey: Partial<KeySurvey>, over: Partial<PassEnd>): string {
  const d = decide({ ...none, ...survey }, { ...end, ...over });
  if (d.kind === "wait") return `wait ${d.ms}${d.onRelease ? " on release" : ""}`;
  const h = d.error.headers;
  return [
    d.error.status,
    d.error.code,
    h["retry-after"] ? `retry-after=${h["retry-after"]}` : "",
    h["x-should-retry"] === "false" ? "no-retry" : "",
  ].filter(Boolean).join(" ");
}

Deno.test("planner: wait × --max-wait × deadline × attempts × auth → wait, 429, 502 or the last failure", () => {
  const cooling = (ms: number): Partial<KeySurvey> => ({ earliest: NOW + ms, rateEarliest: NOW + ms });
  const auth = new Map([["K1", "401 invalid key"]]);
  const cases: [string, Partial<KeySurvey>, Partial<PassEnd>, string][] = [
    ["frees within --max-wait: wait for it (plus a margin)", cooling(2000), { last: http429 }, "wait 2005"],
    ["frees exactly at --max-wait", cooling(10_000), { last: http429 }, "wait 10005"],
    ["frees after --max-wait", cooling(10_001), { last: http429 }, "429 rate_limit_exceeded retry-after=11"],
    [
      "frees after the deadline",
      cooling(2000),
      { last: http429, deadline: NOW + 1999 },
      "429 rate_limit_exceeded retry-after=2",
    ],
    [
      "attempts used up",
      cooling(2000),
      { last: http429, attempts: 10 },
      "429 rate_limit_exceeded retry-after=2 no-retry",
    ],
    ["wait over 60 s", cooling(61_000), { last: http429 }, "429 rate_limit_exceeded retry-after=61 no-retry"],
    ["no attempt made yet: wait", cooling(2000), { attempts: 0, triedThisPass: 0 }, "wait 2005"],
    [
      "a 500 that moved on, then nothing free: the 500 is the answer",
      cooling(2000),
      { last: failure(500, "upstream_error"), attempts: 2 },
      "500 upstream_error no-retry",
    ],
    [
      "a 500 in an earlier pass, nothing tried in this one: wait",
      cooling(2000),
      { last: failure(500, "upstream_error"), triedThisPass: 0 },
      "wait 2005",
    ],
    [
      "every key rejected",
      { authOut: auth },
      { last: failure(502, "upstream_auth_failed") },
      "502 upstream_auth_failed no-retry",
    ],
    [
      "every key rejected, one of them for 10 min (402) within --max-wait: wait",
      { authOut: auth, earliest: NOW + 5000 },
      { last: failure(502, "upstream_auth_failed") },
      "wait 5005",
    ],
    [
      "every key rejected, a 402 beyond --max-wait",
      { authOut: auth, earliest: NOW + 600_000 },
      { last: failure(502, "upstream_auth_failed") },
      "502 upstream_auth_failed no-retry",
    ],
    [
      "some keys rejected, the rest rate-limited beyond --max-wait",
      { ...cooling(30_000), authOut: auth },
      { last: http429 },
      "429 rate_limit_exceeded retry-after=30",
    ],
    [
      "some keys rejected, another still free (e.g. a 500 on it): the last failure",
      { authOut: auth, free: true },
      { last: failure(500, "upstream_error") },
      "500 upstream_error",
    ],
    ["a held key: wait --max-wait for its turn", { gated: true }, { last: http429 }, "wait 10000 on release"],
    [
      "a held key, waited 4 s already",
      { gated: true },
      { last: http429, turnSince: NOW - 4000 },
      "wait 6000 on release",
    ],
    [
      "a held key, waited --max-wait already",
      { gated: true },
      { last: http429, turnSince: NOW - 10_000 },
      "429 rate_limit_exceeded retry-after=1",
    ],
    [
      "a held key and a cooling one: the sooner",
      { ...cooling(3000), gated: true },
      { last: http429 },
      "wait 3005 on release",
    ],
    [
      "a held key, the deadline in 2 s",
      { gated: true },
      { last: http429, deadline: NOW + 2000 },
      "wait 2000 on release",
    ],
    ["nothing out and nothing tried", {}, { attempts: 0, triedThisPass: 0 }, "502 upstream_error"],
  ];
  for (const [name, survey, over, want] of cases) assert.equal(fmtDecision(survey, over), want, name);
});

Deno.test("planner: a wait for a turn starts its --max-wait once and keeps it", () => {
  const d = decide({ ...none, gated: true }, { ...end, last: http429 });
  assert.deepEqual(d, { kind: "wait", ms: 10_000, onRelease: true, turnSince: NOW });
  const again = decide({ ...none, gated: true }, { ...end, now: NOW + 3000, last: http429, turnSince: NOW });
  assert.deepEqual(again, { kind: "wait", ms: 7000, onRelease: true, turnSince: NOW });
  const cool = decide({ ...none, earliest: NOW + 50, rateEarliest: NOW + 50 }, {
    ...end,
    turnSince: NOW - 5,
  });
  assert.equal(cool.kind === "wait" && cool.turnSince, undefined, "no held key: no turn wait");
});

Deno.test("planner: the messages name the target, the keys out for auth and the last upstream answer", () => {
  const d429 = decide(
    {
      ...none,
      earliest: NOW + 30_000,
      rateEarliest: NOW + 30_000,
      authOut: new Map([["K2", "402 no credits"]]),
    },
    { ...end, what: 'route "smart"', last: http429 },
  );
  assert.equal(d429.kind, "fail");
  assert.equal(
    d429.kind === "fail" && d429.error.message,
    'Every key for route "smart" is rate-limited; the first frees in 30 s. Out for auth reasons: K2 (402 no credits). ' +
      "Last upstream answer: upstream 429",
  );
  const d502 = decide({ ...none, authOut: new Map([["K1", "401"]]) }, {
    ...end,
    last: undefined,
    attempts: 0,
  });
  assert.match(
    d502.kind === "fail" ? d502.error.message : "",
    /^Every key for a:m was rejected by the upstream: K1 \(401\)\./,
  );
});

// ─── executor: dispatch with a fake clock and a fake backend ────────────────────────────────────────────────

type Script = (input: AttemptInput, clock: FakeClock) => AttemptResult;

const ok: AttemptResult = { ok: true, value: { kind: "json", status: 200, text: "{}" } };
const limited = (untilMs: number): AttemptResult => ({
  ok: false,
  failure: { ...http429, cooldown: { scope: "key-model", untilMs, reason: "429" } },
});
const rejected: AttemptResult = {
  ok: false,
  failure: {
    ...failure(502, "upstream_auth_failed"),
    cooldown: { scope: "key", reason: "401 invalid key", disable: true },
  },
};

/** Backends named by their key labels (none: keyless), pools on the fake clock, attempts scripted. */
function engine(backends: Record<string, string[]>, script: Script, routes: Route[] = []) {
  const clock = fakeClock();
  const calls: string[] = [];
  const entries = new Map<string, { backend: Backend; pool: KeyPool }>();
  for (const [name, labels] of Object.entries(backends)) {
    const backend: Backend = {
      name,
      type: "openai",
      keys: keys(...labels),
      functional: () => true,
      problem: () => undefined,
      listModels: () => Promise.resolve([]),
      attempt(input) {
        calls.push(`${name}:${input.model}:${input.key?.label ?? "-"}`);
        return Promise.resolve(script(input, clock));
      },
    };
    entries.set(name, { backend, pool: new KeyPool(name, backend.keys, "fill-first", () => clock.t) });
  }
  const deps: DispatchDeps = {
    registry: {
      names: () => [...entries.keys()],
      get: (n) => entries.get(n)?.backend,
      pool: (n) => entries.get(n)!.pool,
    },
    route: (n) => routes.find((r) => r.name === n),
    maxAttempts: 10,
    maxWaitMs: 10_000,
    timeoutMs: 1000,
    clock,
  };
  const run = (target: Target, signal = new AbortController().signal, over: Partial<DispatchDeps> = {}) =>
    dispatch(target, BODY, false, signal, { ...deps, ...over });
  return { clock, calls, run, pool: (n: string) => entries.get(n)!.pool };
}

const errorOf = (r: DispatchResult) =>
  r.ok
    ? "ok"
    : `${r.error.status} ${r.error.code}${
      r.error.headers["retry-after"] ? ` ra=${r.error.headers["retry-after"]}` : ""
    }`;

Deno.test("executor: every key cooling, the first frees within --max-wait: it waits on the clock and retries", async () => {
  const { clock, calls, run } = engine({ a: ["A1", "A2"] }, (input, c) => {
    if (c.t < NOW + 2000) return limited(c.t + (input.key!.label === "A1" ? 2000 : 3000));
    return ok;
  });
  const r = await run({ kind: "model", backend: "a", model: "m" });
  assert.equal(errorOf(r), "ok");
  assert.deepEqual(calls, ["a:m:A1", "a:m:A2", "a:m:A1"]);
  assert.deepEqual(clock.sleeps, ["2005"]);
  assert.deepEqual(r.attempts.map((a) => `${a.keyLabel} ${a.outcome}`), ["A1 429", "A2 429", "A1 ok"]);
});

Deno.test("executor: the first key frees after --max-wait: 429 with retry-after, no sleep", async () => {
  const { clock, run } = engine({ a: ["A1", "A2"] }, (_input, c) => limited(c.t + 60_000));
  const r = await run({ kind: "model", backend: "a", model: "m" });
  assert.equal(errorOf(r), "429 rate_limit_exceeded ra=60");
  assert.equal(!r.ok && r.error.headers["x-should-retry"], "false", "after a multi-attempt plan");
  assert.deepEqual(clock.sleeps, []);
  assert.equal(r.attempts.length, 2);
});

Deno.test("executor: a key freeing after the deadline is not waited for", async () => {
  // The deadline is 3 × timeout + --max-wait = 13 s; the attempt takes 12 s and the key frees 5 s later.
  const { clock, run } = engine({ a: ["A1"] }, (_input, c) => {
    c.t += 12_000;
    return limited(c.t + 5000);
  });
  const r = await run({ kind: "model", backend: "a", model: "m" });
  assert.equal(errorOf(r), "429 rate_limit_exceeded ra=5");
  assert.deepEqual(clock.sleeps, []);
  assert.equal(r.attempts[0].latencyMs, 12_000, "latency on the injected clock");
});

Deno.test("executor: --max-attempts ends the plan with the last failure", async () => {
  const { calls, run } = engine(
    { a: ["A1", "A2", "A3"] },
    () => ({ ok: false, failure: failure(500, "upstream_error") }),
  );
  const r = await run({ kind: "model", backend: "a", model: "m" }, undefined, { maxAttempts: 2 });
  assert.equal(errorOf(r), "500 upstream_error");
  assert.deepEqual(calls, ["a:m:A1", "a:m:A2"]);
});

Deno.test("executor: rejected keys are disabled; then the target answers 502 without an attempt", async () => {
  const { calls, run, pool } = engine({ a: ["A1", "A2"] }, () => rejected);
  const first = await run({ kind: "model", backend: "a", model: "m" });
  assert.equal(errorOf(first), "502 upstream_auth_failed");
  assert.deepEqual(pool("a").disabledKeys().map((d) => d.label), ["A1", "A2"]);
  const second = await run({ kind: "model", backend: "a", model: "m" });
  assert.equal(errorOf(second), "502 upstream_auth_failed");
  assert.equal(second.attempts.length, 0);
  assert.equal(calls.length, 2);
});

Deno.test("executor: route policies across backends, with a keyless element and a skipped one", async () => {
  const routes: Route[] = [
    { name: "m", policy: "m", elements: ["a:x", "cli:y"] },
    { name: "km", policy: "km", elements: ["a:x", "b:z", "cli:y"] },
  ];
  const { calls, run, pool } = engine({ a: ["A1", "A2"], b: ["B1"], cli: [] }, (input) => {
    if (input.model === "x") return { ok: false, failure: failure(404, "model_not_found", "next-element") };
    if (input.model === "z") return limited(NOW + 60_000);
    return ok;
  }, routes);
  pool("a").cool("A1", "x", { scope: "key-model", untilMs: NOW + 60_000, reason: "429" });
  const m = await run({ kind: "route", name: "m" });
  assert.equal(errorOf(m), "ok");
  assert.equal(m.route, "m");
  assert.deepEqual(calls.splice(0), ["a:x:A2", "cli:y:-"], "m: the first free key of each element");
  const km = await run({ kind: "route", name: "km" });
  assert.equal(errorOf(km), "ok");
  assert.deepEqual(calls.splice(0), ["a:x:A2", "b:z:B1", "cli:y:-"], "a 404 skips the element's other keys");
  const missing = await run({ kind: "route", name: "nope" });
  assert.equal(errorOf(missing), "404 model_not_found");
});

Deno.test("executor: waiting for a turn on a recovering key wakes when the turn is released", async () => {
  const { clock, calls, run, pool } = engine({ a: ["A1"] }, () => ok);
  const p = pool("a");
  p.cool("A1", "m", { scope: "key-model", untilMs: NOW + 1, reason: "429" });
  clock.t += 1;
  const held = p.take("A1", "m"); // another request is trying the recovering key
  clock.onSleep = () => held(true);
  const r = await run({ kind: "model", backend: "a", model: "m" });
  assert.equal(errorOf(r), "ok");
  assert.deepEqual(clock.sleeps, ["10000 woke"], "up to --max-wait, ended early by the release");
  assert.deepEqual(calls, ["a:m:A1"]);
});

Deno.test("executor: the client leaving during a wait ends the request as client_closed", async () => {
  const { clock, run } = engine({ a: ["A1"] }, (_input, c) => limited(c.t + 2000));
  const ctl = new AbortController();
  clock.onSleep = () => ctl.abort();
  const r = await run({ kind: "model", backend: "a", model: "m" }, ctl.signal);
  assert.equal(errorOf(r), "499 client_closed");
  assert.equal(r.attempts.length, 1);
});
