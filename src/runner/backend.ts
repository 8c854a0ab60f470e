/**
 * The interface every backend implements (SPEC §3): list models, make one upstream attempt (JSON or a
 * committed stream), and classify an upstream failure for the attempt engine.
 */
import type { KeyEntry } from "../config/load.ts";
import type { ChatRequest, Usage } from "../model/request.ts";
import type { Cooldown } from "../state/keys.ts";
import type { NativeRequest, WireProtocol } from "../core/protocol.ts";
import type { ModelEvent, ModelUsage, StreamMeta } from "../model/events.ts";
import type { ModelResult } from "../model/result.ts";

/** What the attempt engine does after a failed attempt (SPEC §5.2). */
export type FailureAction = "next-key" | "next-element" | "return";

/** A classified upstream failure. `status`/`type`/`code`/`message` are what the client sees if it is final. */
export interface UpstreamFailure {
  action: FailureAction;
  status: number;
  type: "invalid_request_error" | "rate_limit_error" | "api_error" | "permission_error" | "server_error";
  code: string;
  message: string;
  cooldown?: Cooldown;
  /** Upstream status or error class for the usage record ("429", "timeout", "connection"). */
  outcome: string;
  /** Extra response headers if this failure is the final answer (e.g. `retry-after` on a 503). */
  headers?: Record<string, string>;
}

/** Everything one attempt needs. */
export interface AttemptInput {
  /** The client's body after commands and redaction; `model` is still the client's. */
  body: ChatRequest;
  /** Model id as the upstream knows it. */
  model: string;
  /** The key to use (undefined for keyless backends). */
  key: KeyEntry | undefined;
  stream: boolean;
  /** Fires on client disconnect or the request's overall deadline. */
  signal: AbortSignal;
  /** Longest wait for the first byte and between chunks (SPEC §7). */
  timeoutMs: number;
  /** The request's deadline (ms epoch): a stream that has not committed by then fails (keep-alives only). */
  deadline?: number;
  /**
   * The client's body in its own protocol (SPEC §17). A provider that speaks `native.protocol` upstream sends
   * it through (its model and key put in) and says so in the success's `protocol`; any other ignores it and
   * builds its call from `body`.
   */
  native?: NativeRequest;
}

/** What a finished stream reports (for usage records). */
export interface StreamSummary {
  usage?: Usage;
  /** Set when the stream ended with an in-band error after the commit. */
  error?: string;
  /** Upstream model named in the chunks. */
  model?: string;
  /** The protocol's terminal event was read (a dialect with `cutOff`; commit.ts). */
  finished?: boolean;
  /** The protocol's last event was read: nothing after it belongs to the answer (commit.ts). */
  ended?: boolean;
}

/**
 * A successful attempt: a JSON body (a Chat upstream's, or one passed through in `protocol`), a whole answer a
 * translating provider read into the conversation model, or a stream already past the commit point (SPEC §7) —
 * as bytes (a Chat upstream's, or one passed through in `protocol`) or as the conversation model's events (a
 * translated one).
 */
export type AttemptSuccess =
  & (
    | { kind: "json"; status: number; text: string; usage?: Usage; model?: string }
    /** A translated whole answer; `usage` is what the usage record reads (the result's, unless it reported none). */
    | { kind: "result"; result: ModelResult; usage?: ModelUsage }
    | { kind: "stream"; stream: ReadableStream<Uint8Array>; done: Promise<StreamSummary> }
    | { kind: "events"; events: ReadableStream<ModelEvent>; meta: StreamMeta; done: Promise<StreamSummary> }
  )
  & {
    rateLimit?: RateLimitInfo;
    /**
     * The protocol of `text` / `stream`: absent means Chat Completions (a completion object, or Chat SSE
     * chunks ending in `[DONE]`); otherwise the `native` request's protocol, passed through to the client.
     */
    protocol?: WireProtocol;
  };

/** What a successful answer said about the key's remaining budget (`X-RateLimit-Remaining` / `-Reset`). */
export interface RateLimitInfo {
  remaining: number;
  /** When the budget resets (ms epoch). */
  resetMs: number;
}

/** One attempt's result. */
export type AttemptResult = { ok: true; value: AttemptSuccess } | { ok: false; failure: UpstreamFailure };

/** A model entry as `/v1/models` shows it (without the backend prefix). */
export interface ModelInfo {
  id: string;
  created?: number;
}

/** What a token count needs (SPEC §17.1 `count_tokens`: the backend's own count where it offers one). */
export interface CountInput {
  /** The request in the conversation model. */
  body: ChatRequest;
  /** Model id as the upstream knows it. */
  model: string;
  key: KeyEntry | undefined;
  /** Fires on client disconnect. */
  signal: AbortSignal;
  timeoutMs: number;
  /** The client's body in its own protocol, counted as it is by a provider that speaks that protocol. */
  native?: NativeRequest;
}

/** A backend instance: one per configured backend name. */
export interface Backend {
  readonly name: string;
  /** Backend type: "openai" | "gemini" | "gemini-cli". */
  readonly type: string;
  /** Key pool (empty for keyless backends). */
  readonly keys: readonly KeyEntry[];
  /** True when the backend has what it needs to be tried (keys, or the CLI found). */
  functional(): boolean;
  /** Why it is not functional, for /health and errors. */
  problem(): string | undefined;
  /** Fetch the model list (may throw; the registry caches and retries). */
  listModels(signal: AbortSignal): Promise<ModelInfo[]>;
  /** Reject a request this backend cannot serve before any attempt (e.g. CLI with tools). */
  unsupported?(body: ChatRequest): string | undefined;
  /** The upstream's own count of the input tokens, or undefined when it cannot give one (never throws). */
  countTokens?(input: CountInput): Promise<number | undefined>;
  /** Make one upstream attempt. Never throws for upstream problems: they come back as failures. */
  attempt(input: AttemptInput): Promise<AttemptResult>;
  /** Wait for background work started by attempts (e.g. temp-file removal) before shutdown. */
  drain?(): Promise<void>;
}
