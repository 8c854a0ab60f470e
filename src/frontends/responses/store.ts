/**
 * Stored responses (SPEC §17.2) in Deno KV: a response made with `store` not false keeps its input items and
 * the response (with its output) for `--responses-retention-days`, owned by the client key that made it. One
 * record is split across KV values (64 KiB each) so a long conversation is stored, not refused: the parts are
 * written first, the head (owner, expiry, part count) last, so a reader never sees half a record. Expiry is
 * `expireIn` plus a check on read (KV deletes late). Output items are indexed by id for `item_reference`.
 */
import type { Item } from "./parse.ts";

/** One stored response. */
export interface StoredResponse {
  /** The client-key label that made it. */
  owner: string;
  /** The response it continued, if any. */
  previousId?: string;
  /** The request's own input items (not its `instructions`, which are not inherited). */
  input: Item[];
  /** The response object as the client got it (with `output`). */
  response: Record<string, unknown>;
}

interface Head {
  owner: string;
  /** ms epoch. */
  expiresAt: number;
  parts: number;
}

const PREFIX = "responses";
const ITEM_PREFIX = "responses_item";
/** Bytes per KV value (KV's limit is 64 KiB). */
const PART_BYTES = 60 * 1024;
/** Values per atomic write (KV allows 800 KiB per atomic operation). */
const PARTS_PER_WRITE = 10;
/** The longest chain of `previous_response_id`s followed. */
const MAX_CHAIN = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Save `rec` as response `id` for `retentionMs`; `scrub` removes key values from what is stored (SPEC §10.4). */
export async function saveResponse(
  kv: Deno.Kv,
  id: string,
  rec: StoredResponse,
  retentionMs: number,
  scrub: (text: string) => string,
): Promise<void> {
  const bytes = encoder.encode(scrub(JSON.stringify(rec)));
  const parts: Uint8Array[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += PART_BYTES) {
    parts.push(bytes.subarray(at, at + PART_BYTES));
  }
  const expireIn = retentionMs;
  for (let i = 0; i < parts.length; i += PARTS_PER_WRITE) {
    const op = kv.atomic();
    for (let j = i; j < Math.min(parts.length, i + PARTS_PER_WRITE); j++) {
      op.set([PREFIX, id, j], parts[j], { expireIn });
    }
    await commit(op);
  }
  const ids = (rec.response.output as Item[] | undefined ?? [])
    .map((item) => item.id)
    .filter((v): v is string => typeof v === "string");
  for (let i = 0; i < ids.length; i += 500) {
    const op = kv.atomic();
    for (const itemId of ids.slice(i, i + 500)) op.set([ITEM_PREFIX, itemId], id, { expireIn });
    await commit(op);
  }
  const head: Head = { owner: rec.owner, expiresAt: Date.now() + retentionMs, parts: parts.length };
  await commit(kv.atomic().set([PREFIX, id], head, { expireIn }));
}

/** Commit an atomic write, retrying while another process holds the file (SPEC §11). */
async function commit(op: Deno.AtomicOperation): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      const r = await op.commit();
      if (!r.ok) throw new Error("stored-response write was not committed");
      return;
    } catch (e) {
      if (attempt >= 5 || !/database is locked/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    }
  }
}

/** Response `id` if it exists, has not expired and belongs to `owner`; otherwise undefined. */
export async function loadResponse(
  kv: Deno.Kv,
  id: string,
  owner: string,
): Promise<StoredResponse | undefined> {
  const head = (await kv.get<Head>([PREFIX, id])).value;
  if (!head || head.owner !== owner || head.expiresAt <= Date.now()) return undefined;
  const keys = Array.from({ length: head.parts }, (_, i) => [PREFIX, id, i]);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < keys.length; i += 10) {
    for (const e of await kv.getMany<Uint8Array[]>(keys.slice(i, i + 10))) {
      if (!(e.value instanceof Uint8Array)) return undefined; // expired under us
      chunks.push(e.value);
    }
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return JSON.parse(decoder.decode(all)) as StoredResponse;
}

/**
 * The conversation response `id` holds — the conversations it continued (recursively), its input items and
 * its output items, oldest first — or undefined when it or one before it is unknown, expired, deleted or
 * another owner's.
 */
export async function loadConversation(kv: Deno.Kv, id: string, owner: string): Promise<Item[] | undefined> {
  const turns: Item[][] = [];
  let next: string | undefined = id;
  for (let hops = 0; next !== undefined; hops++) {
    if (hops >= MAX_CHAIN) return undefined;
    const rec: StoredResponse | undefined = await loadResponse(kv, next, owner);
    if (!rec) return undefined;
    turns.push([...rec.input, ...((rec.response.output as Item[] | undefined) ?? [])]);
    next = rec.previousId;
  }
  return turns.reverse().flat();
}

/** An output item of one of `owner`'s stored responses, by item id. */
export async function loadItem(kv: Deno.Kv, itemId: string, owner: string): Promise<Item | undefined> {
  const responseId = (await kv.get<string>([ITEM_PREFIX, itemId])).value;
  if (typeof responseId !== "string") return undefined;
  const rec = await loadResponse(kv, responseId, owner);
  return ((rec?.response.output as Item[] | undefined) ?? []).find((item) => item.id === itemId);
}

/** Delete response `id` if `owner` may see it; false when there is no such response for them. */
export async function deleteResponse(kv: Deno.Kv, id: string, owner: string): Promise<boolean> {
  const rec = await loadResponse(kv, id, owner);
  if (!rec) return false;
  const head = (await kv.get<Head>([PREFIX, id])).value;
  await commit(kv.atomic().delete([PREFIX, id]));
  const keys: Deno.KvKey[] = Array.from({ length: head?.parts ?? 0 }, (_, i) => [PREFIX, id, i]);
  for (const item of (rec.response.output as Item[] | undefined) ?? []) {
    if (typeof item.id === "string") keys.push([ITEM_PREFIX, item.id]);
  }
  for (let i = 0; i < keys.length; i += 500) {
    const op = kv.atomic();
    for (const k of keys.slice(i, i + 500)) op.delete(k);
    await commit(op);
  }
  return true;
}
