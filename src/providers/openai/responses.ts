/**
 * Responses pass-through for the first-class `openai` provider (SPEC §3.4, §17.2): a Responses client's own
 * body (`AttemptInput.native`, protocol "responses") goes to `<base>/responses` with the provider's model and
 * key, built-in tools and unknown fields included, and the answer comes back as it came (`protocol:
 * "responses"`): JSON, or a stream through the commit rule with the Responses dialect. Every other request
 * goes to the wrapped Chat Completions backend.
 */
import type { KeyEntry } from "../../config/load.ts";
import type { AttemptInput, AttemptResult, Backend, UpstreamFailure } from "../../runner/backend.ts";
import { commitPosted } from "../../runner/commit.ts";
import { postUpstream, readAnswer } from "../../runner/http.ts";
import type { UpstreamClient } from "../../runner/upstream_client.ts";
import { rateLimitInfo } from "../../core/cooldown.ts";
import { classifyInBandError, classifyOpenAIFailure } from "../openai_compatible/errors.ts";
import type { Scrubber } from "../../security/scrub.ts";
import { chatUsageOf, RESPONSES_DIALECT } from "./responses_dialect.ts";

/** Where the Responses API of the provider is. */
export interface ResponsesPassThroughOptions {
  name: string;
  baseUrl: string;
  scrub: Scrubber;
  client: UpstreamClient;
}

function badAnswer(name: string, what: string): UpstreamFailure {
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `${name} answered 200 with ${what}.`,
    outcome: "bad_answer",
  };
}

/** `chat` with Responses requests sent through to the provider's `/responses`. */
export function withResponsesPassThrough(chat: Backend, opts: ResponsesPassThroughOptions): Backend {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/responses`;
  const headersFor = (key: KeyEntry | undefined): Record<string, string> => ({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(key ? { authorization: `Bearer ${key.value}` } : {}),
  });
  const failure = (f: UpstreamFailure): AttemptResult => ({
    ok: false,
    failure: { ...f, message: opts.scrub(f.message) },
  });

  async function passThrough(input: AttemptInput): Promise<AttemptResult> {
    const body = { ...input.native!.body, model: input.model, stream: input.stream };
    const label = input.key?.label;
    const posted = await postUpstream(
      opts.client,
      opts.name,
      url,
      headersFor(input.key),
      JSON.stringify(body),
      input.signal,
      input.timeoutMs,
    );
    if (!posted.ok) return failure(posted.failure);
    const { res } = posted;
    const answer = await readAnswer(
      posted,
      input.stream,
      (status, headers, text) => classifyOpenAIFailure(status, headers, text, label, opts.name),
      opts.scrub,
    );
    if (answer.kind === "failed") return failure(answer.failure);
    if (answer.kind === "not-json") return failure(badAnswer(opts.name, "a body that is not JSON"));
    if (answer.kind === "json") {
      const json = answer.json as
        | { object?: unknown; error?: unknown; usage?: unknown; model?: unknown }
        | null;
      if (json?.error) return failure(classifyInBandError(json.error, label, opts.name, opts.scrub));
      if (json?.object !== "response") {
        return failure(badAnswer(opts.name, "something that is not a response"));
      }
      return {
        ok: true,
        value: {
          kind: "json",
          status: 200,
          text: answer.text,
          usage: chatUsageOf(json.usage),
          model: typeof json.model === "string" ? json.model : undefined,
          rateLimit: rateLimitInfo(res.headers, Date.now()),
          protocol: "responses",
        },
      };
    }
    const result = await commitPosted(posted, res.body!, input, {
      classifyInBand: (e) => classifyInBandError(e, label, opts.name, opts.scrub),
      dropUsageChunks: false,
      scrub: opts.scrub,
      bodyLimit: { bytes: opts.client.maxBodyBytes, backend: opts.name },
      dialect: RESPONSES_DIALECT,
    });
    if (!result.ok) return failure(result.failure);
    result.value.rateLimit = rateLimitInfo(res.headers, Date.now());
    result.value.protocol = "responses";
    return result;
  }

  return {
    ...chat,
    attempt: (input) => (input.native?.protocol === "responses" ? passThrough(input) : chat.attempt(input)),
  };
}
