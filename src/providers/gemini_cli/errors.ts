/**
 * How a failed CLI run is reported (SPEC §3.3, §13). In json modes the CLI exits with the upstream HTTP
 * status mod 256 (429→173, 500→244); its own exit codes are 41 (auth), 42 (no input), 55 (untrusted
 * folder), 1 (general).
 */
import type { UpstreamFailure } from "../../runner/backend.ts";

/** The backend's name in messages. */
export const BACKEND = "gemini-cli-direct";

/** Exit code (0–255) an upstream HTTP status produces. */
const exitOf = (status: number) => status & 0xff;

/** Classify a run that ended with `exitCode` (-1: exit 0 without a usable result) and the CLI's message. */
export function exitFailure(exitCode: number, message: string): UpstreamFailure {
  const said = message.trim() || "no message";
  const base = { type: "api_error" as const, outcome: `exit_${exitCode}` };
  switch (exitCode) {
    case exitOf(429):
      return {
        ...base,
        action: "next-key",
        status: 429,
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
        message: `${BACKEND}: the Gemini API rate-limited the CLI (429): ${said}`,
      };
    case 41:
    case exitOf(401):
    case exitOf(403):
      return {
        ...base,
        action: "next-key",
        status: 502,
        code: "upstream_auth_failed",
        message: `${BACKEND}: the Gemini CLI could not authenticate (exit ${exitCode}: ${said}). Log in by ` +
          "running `gemini` once interactively, or give it GEMINI_API_KEY (or Vertex AI settings).",
      };
    case exitOf(400):
      return {
        ...base,
        action: "return",
        status: 400,
        type: "invalid_request_error",
        code: "upstream_error",
        message: `${BACKEND}: the Gemini API rejected the request (400): ${said}`,
      };
    case exitOf(404):
      return {
        ...base,
        action: "next-element",
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found",
        message: `${BACKEND}: the Gemini API does not serve this model (404): ${said}`,
      };
    case -1:
      return {
        ...base,
        action: "next-key",
        status: 502,
        code: "upstream_error",
        message: `${BACKEND}: ${said}`,
      };
    default: {
      const what = exitCode === exitOf(500) || exitCode === exitOf(503) || exitCode === exitOf(502)
        ? `the Gemini API failed (HTTP ${exitCode + 256})`
        : `the Gemini CLI failed (exit ${exitCode})`;
      return {
        ...base,
        action: "next-key",
        status: 502,
        code: "upstream_error",
        message: `${BACKEND}: ${what}: ${said}`,
      };
    }
  }
}

/** The failure for a run stopped by `--timeout`. */
export function timeoutFailure(): UpstreamFailure {
  return {
    action: "next-key",
    status: 504,
    type: "api_error",
    code: "upstream_timeout",
    message: `${BACKEND}: the Gemini CLI sent nothing within --timeout; the process was stopped.`,
    outcome: "timeout",
  };
}
