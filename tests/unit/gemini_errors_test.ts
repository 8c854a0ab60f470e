import assert from "node:assert/strict";
import { classifyGeminiFailure, classifyGeminiInBand } from "../../src/providers/gemini/errors.ts";
import { nextMidnightPacific } from "../../src/core/cooldown.ts";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const classify = (status: number, body: unknown, headers?: Headers) =>
  classifyGeminiFailure(
    status,
    headers,
    typeof body === "string" ? body : JSON.stringify(body),
    "GEMINI_API_KEY_2",
    "gemini",
    NOW,
  );

const quotaFailure = (quotaId: string) => ({
  "@type": "type.googleapis.com/google.rpc.QuotaFailure",
  violations: [{
    quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
    quotaId,
  }],
});
const retryInfo = (d: string) => ({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: d });
const err = (code: number, status: string, message: string, details?: unknown[]) => ({
  error: { code, message, status, ...(details ? { details } : {}) },
});

Deno.test("gemini 429 per-minute with RetryInfo → next key, key-model cool-down until retryDelay", () => {
  const f = classify(
    429,
    err(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota", [
      quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
      retryInfo("37s"),
    ]),
  );
  assert.deepEqual(f, {
    action: "next-key",
    status: 429,
    type: "rate_limit_error",
    code: "rate_limit_exceeded",
    message: "gemini: key GEMINI_API_KEY_2 is rate-limited: You exceeded your current quota",
    cooldown: {
      scope: "key-model",
      untilMs: NOW + 37_000,
      reason: "429 GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
    },
    outcome: "429",
  });
});

Deno.test("gemini 429 with a fractional retryDelay", () => {
  const f = classify(429, err(429, "RESOURCE_EXHAUSTED", "x", [retryInfo("1.5s")]));
  assert.equal(f.cooldown?.untilMs, NOW + 1500);
});

Deno.test("gemini 429 per-day quota → cool-down until next midnight Pacific", () => {
  const f = classify(
    429,
    err(429, "RESOURCE_EXHAUSTED", "quota", [
      quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
      retryInfo("20s"),
    ]),
  );
  assert.equal(f.action, "next-key");
  assert.equal(f.status, 429);
  assert.deepEqual(f.cooldown, {
    scope: "key-model",
    untilMs: nextMidnightPacific(NOW),
    reason: "429 GenerateRequestsPerDayPerProjectPerModel-FreeTier",
  });
  assert.match(f.message, /daily quota .*midnight Pacific/);
  // 12:00 UTC on 27 Nov is 04:00 PST; the next Pacific midnight is 08:00 UTC on 28 Nov.
  assert.equal(nextMidnightPacific(NOW), Date.UTC(2026, 10, 28, 8, 0, 0));
});

Deno.test("gemini 429 without RetryInfo: 'Please retry in' in the message, else Retry-After, else back-off", () => {
  assert.equal(
    classify(429, err(429, "RESOURCE_EXHAUSTED", "Quota exceeded. Please retry in 53.01s.")).cooldown
      ?.untilMs,
    NOW + 53_010,
  );
  assert.equal(
    classify(429, err(429, "RESOURCE_EXHAUSTED", "busy"), new Headers({ "retry-after": "9" })).cooldown
      ?.untilMs,
    NOW + 9000,
  );
  const f = classify(429, err(429, "RESOURCE_EXHAUSTED", "busy"));
  assert.deepEqual(f.cooldown, { scope: "key-model", untilMs: undefined, reason: "429" });
});

Deno.test("gemini 429 wrapped in an array (the OpenAI-compat endpoint's shape) is still read", () => {
  const f = classify(429, [err(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted", [retryInfo("5s")])]);
  assert.equal(f.cooldown?.untilMs, NOW + 5000);
  assert.match(f.message, /Resource has been exhausted/);
});

Deno.test("gemini 400 API_KEY_INVALID → next key, the key disabled, 502 upstream_auth_failed naming the label", () => {
  const f = classify(
    400,
    err(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "API_KEY_INVALID",
        domain: "googleapis.com",
      },
    ]),
  );
  assert.deepEqual(f, {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_auth_failed",
    message:
      "gemini: key GEMINI_API_KEY_2 was rejected (API_KEY_INVALID): API key not valid. Please pass a valid API key.. Check or replace GEMINI_API_KEY_2.",
    cooldown: { scope: "key", reason: "400 API_KEY_INVALID", disable: true },
    outcome: "400",
  });
});

Deno.test("gemini 403 PERMISSION_DENIED → key failure, never a 401/403 to the client", () => {
  const f = classify(403, err(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"));
  assert.equal(f.action, "next-key");
  assert.equal(f.status, 502);
  assert.equal(f.code, "upstream_auth_failed");
  assert.deepEqual(f.cooldown, { scope: "key", reason: "403 PERMISSION_DENIED", disable: true });
  assert.match(f.message, /GEMINI_API_KEY_2/);
});

Deno.test("gemini 404 → next element, model_not_found", () => {
  const f = classify(404, err(404, "NOT_FOUND", "models/x is not found for API version v1beta"));
  assert.deepEqual(f, {
    action: "next-element",
    status: 404,
    type: "invalid_request_error",
    code: "model_not_found",
    message: "gemini: models/x is not found for API version v1beta",
    outcome: "404",
  });
});

const fiveXX: [number, string, number, string][] = [
  [500, "INTERNAL", 502, "upstream_error"],
  [503, "UNAVAILABLE", 502, "upstream_error"],
  [504, "DEADLINE_EXCEEDED", 504, "upstream_timeout"],
];
for (const [status, rpc, want, code] of fiveXX) {
  Deno.test(`gemini ${status} ${rpc} → next key, ${want} ${code}`, () => {
    const f = classify(status, err(status, rpc, "The model is overloaded."));
    assert.equal(f.action, "next-key");
    assert.equal(f.status, want);
    assert.equal(f.code, code);
    assert.equal(f.cooldown, undefined);
    assert.equal(f.message, `gemini answered ${status} ${rpc}: The model is overloaded.`);
  });
}

Deno.test("gemini other 4xx → returned to the client with the upstream status and code", () => {
  const f = classify(
    400,
    err(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"),
  );
  assert.deepEqual(f, {
    action: "return",
    status: 400,
    type: "invalid_request_error",
    code: "invalid_argument",
    message:
      "gemini answered 400 INVALID_ARGUMENT: * GenerateContentRequest.contents: contents is not specified",
    outcome: "400",
  });
  const fp = classify(
    400,
    err(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
  );
  assert.equal(fp.action, "return");
  assert.equal(fp.code, "failed_precondition");
});

Deno.test("gemini error body that is not JSON → message from the text", () => {
  const f = classify(502, "<html>Bad Gateway</html>");
  assert.equal(f.message, "gemini answered 502: <html>Bad Gateway</html>");
  assert.equal(classify(500, "").message, "gemini answered 500: HTTP 500");
});

Deno.test("gemini in-band errors: a Google error is classified by its code, anything else is a 502", () => {
  const g = classifyGeminiInBand(
    {
      message: "m",
      code: "upstream_error",
      google: err(429, "RESOURCE_EXHAUSTED", "q", [retryInfo("3s")]).error,
    },
    "K",
    "gemini",
  );
  assert.equal(g.status, 429);
  assert.equal(g.action, "next-key");
  assert.equal(g.cooldown?.scope, "key-model");
  const b = classifyGeminiInBand(
    { message: "Gemini sent a stream event that is not JSON.", code: "bad_stream" },
    "K",
    "gemini",
  );
  assert.deepEqual(b, {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: "gemini: Gemini sent a stream event that is not JSON.",
    outcome: "bad_stream",
  });
});
