/**
 * The `openrouter` backend (SPEC §3.1): OpenAI-compatible, plus OpenRouter's quirks — app attribution
 * headers (`HTTP-Referer`, `X-Title`) and its own 429 rules (errors.ts).
 */
import type { KeyEntry } from "../../config/load.ts";
import type { Backend } from "../../runner/backend.ts";
import { createOpenAICompatible } from "../openai_compatible/backend.ts";
import type { UpstreamClient } from "../../runner/upstream_client.ts";
import type { Scrubber } from "../../security/scrub.ts";
import { classifyOpenRouterFailure } from "./errors.ts";

/** Where `HTTP-Referer` and `X-Title` come from (`--app-site-url`, `--app-x-title`). */
export interface Attribution {
  readonly appSiteUrl: string | undefined;
  readonly appXTitle: string | undefined;
}

/** Settings of the openrouter backend. */
export interface OpenRouterOptions {
  name: string;
  baseUrl: string;
  keys: KeyEntry[];
  /** Where its keys come from (named when none is set). */
  keyEnv: string | undefined;
  requestUsage: boolean;
  attribution: Attribution;
  scrub: Scrubber;
  client: UpstreamClient;
}

/** OpenRouter's app attribution headers: only those that are set. */
export function attributionHeaders(s: Attribution): Record<string, string> {
  const headers: Record<string, string> = {};
  if (s.appSiteUrl) headers["HTTP-Referer"] = s.appSiteUrl;
  if (s.appXTitle) headers["X-Title"] = s.appXTitle;
  return headers;
}

/** Create the openrouter backend. */
export function createOpenRouter(opts: OpenRouterOptions): Backend {
  return createOpenAICompatible({
    name: opts.name,
    baseUrl: opts.baseUrl,
    keys: opts.keys,
    keyEnv: opts.keyEnv,
    requestUsage: opts.requestUsage,
    headers: attributionHeaders(opts.attribution),
    classify: classifyOpenRouterFailure,
    scrub: opts.scrub,
    client: opts.client,
  });
}
