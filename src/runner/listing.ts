/**
 * A provider's model listing (`Backend.listModels`), fetched the same way for every HTTP provider: one GET
 * through the proxy's upstream client (no redirect followed, the body read under --max-upstream-body-mb), an
 * error status or a body that is not JSON thrown as an error whose message has key values scrubbed (the
 * registry shows it in /health).
 */
import type { HeaderReader } from "../core/headers.ts";
import type { UpstreamClient } from "./upstream_client.ts";

/** A listing answered an error status; `text` (scrubbed) and `headers` for a provider that reads more into it. */
export class ListingFailed extends Error {
  override name = "ListingFailed";
  /** `message`: "GET /models answered 401". */
  constructor(
    message: string,
    readonly status: number,
    readonly headers: HeaderReader,
    readonly text: string,
  ) {
    super(message);
  }
}

/** Where a listing is and how to ask for it. */
export interface ListingRequest {
  client: UpstreamClient;
  /** The API root (`https://api.openai.com/v1`). */
  root: string;
  /** The path under it, with its query (`/models?limit=1000`); messages name it without the query. */
  path: string;
  /** The request's headers (the key in them). */
  headers: Record<string, string>;
  /** Removes key values from error messages. */
  scrub: (text: string) => string;
}

/** GET a listing and parse its JSON; throws on a transport failure, an error status or a body that is not JSON. */
export async function getListing(r: ListingRequest, signal: AbortSignal): Promise<unknown> {
  const what = `GET ${r.path.replace(/\?.*$/, "")}`;
  let text: string;
  let res;
  try {
    res = await r.client.get(`${r.root}${r.path}`, { headers: r.headers, signal });
    text = await res.text();
  } catch (e) {
    throw new Error(r.scrub(`${what} failed: ${(e as Error)?.message ?? String(e)}`));
  }
  if (!res.ok) {
    throw new ListingFailed(`${what} answered ${res.status}`, res.status, res.headers, r.scrub(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} answered ${res.status} with a body that is not JSON`);
  }
}

/** The `data` array of an OpenAI-shaped listing (`{"data":[{"id":…},…]}`): its entries that have an id. */
export function listedEntries(json: unknown): (Record<string, unknown> & { id: string })[] {
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error("GET /models: no data array");
  return data.filter((m) => typeof m?.id === "string");
}
