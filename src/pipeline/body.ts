/**
 * Reading a request body for any front end: the size limit (`--max-body-mb`, 413 beyond it, without trusting
 * Content-Length alone) and the time limit (`--timeout`, 408), a body cut short by the client is a 400, and so
 * is one nested deeper than {@link MAX_JSON_DEPTH}.
 */
import { badRequest, ProxyError } from "../core/errors.ts";
import { readCappedText } from "../core/capped_text.ts";
import type { Deadlines } from "../core/deadlines.ts";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../core/json_depth.ts";
import type { ProxyContext } from "./context.ts";

/**
 * Read the body with the size limit (413 beyond it); a body cut short by the client or nested deeper than
 * {@link MAX_JSON_DEPTH} is a 400, one that does not arrive within `timeoutMs` a 408 (the read itself is left
 * to fail later).
 */
export function readLimitedBody(
  req: Request,
  maxBytes: number,
  timeoutMs: number,
  deadlines: Deadlines,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const deadline = deadlines.add(timeoutMs, () => {
      reject(
        new ProxyError(
          408,
          "invalid_request_error",
          "request_timeout",
          "The request body did not arrive within --timeout; send the whole body (check Content-Length).",
        ),
      );
    });
    readBodyUpTo(req, maxBytes).then((text) => {
      deadlines.settle(deadline);
      if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
        reject(badRequest(
          `Request body is nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects; flatten it.`,
        ));
      } else resolve(text);
    }, (e) => {
      deadlines.settle(deadline);
      reject(
        e instanceof ProxyError ? e : badRequest(
          `The request body could not be read to its end (${
            (e as Error)?.name ?? "error"
          }); did the client hang up?`,
        ),
      );
    });
  });
}

/** Read the body with the size limit, without trusting Content-Length alone. */
async function readBodyUpTo(req: Request, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new ProxyError(
      413,
      "invalid_request_error",
      "request_too_large",
      `Request body is larger than ${maxBytes} bytes; raise --max-body-mb to allow it.`,
    );
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  // Fast path: a declared length within the limit lets the runtime read the body natively. Before any touch of
  // `req.body`: Deno hands a body its HTTP engine already holds whole to `text()` as bytes, but only until the
  // getter has wrapped it in a stream (a body-less request reads "").
  if (Number.isFinite(declared)) return await req.text();
  if (!req.body) return "";
  const text = await readCappedText(req.body, maxBytes);
  if (text === undefined) throw tooLarge();
  return text;
}

/** A request's body as text within the running settings' limits (`--max-body-mb`, `--timeout`). */
export function readRequestBody(
  req: Request,
  ctx: Pick<ProxyContext, "settings" | "deadlines">,
): Promise<string> {
  return readLimitedBody(
    req,
    Math.floor(ctx.settings.maxBodyMb * 1024 * 1024),
    ctx.settings.timeout * 1000,
    ctx.deadlines,
  );
}
