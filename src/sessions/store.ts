/**
 * Sessions (SPEC §9): keyed by (client-key label, session id), held in memory and written through to Deno
 * KV off the request path, one KV record per session within the 64 KiB value limit, expired after 7 idle
 * days (checked on read), with the last 50 history records (metadata; content only with --audit-content).
 */
import { MAX_VALUE_BYTES, storedBytes, withLockRetry } from "../store/kv.ts";

/** One history record: what happened to one request of the session (metadata only). */
export interface HistoryRecord {
  time: number;
  /** `proxy`: answered locally (commands); `backend`: sent upstream. */
  handler: "proxy" | "backend";
  /** Command names run by this request. */
  commands?: string[];
  backend?: string;
  model?: string;
  route?: string;
  project?: string;
  stream: boolean;
  /** `ok`, an HTTP status, or `command-error`. */
  outcome: string;
  /** The latest user message, redacted and truncated (only with --audit-content). */
  content?: string;
}

/** A session's state. */
export interface Session {
  owner: string;
  id: string;
  /** Session model override (`backend:model` or a route name). */
  model?: string;
  /** Session backend override. */
  backend?: string;
  project?: string;
  /** Interactive mode; undefined follows the server default. */
  interactive?: boolean;
  agent?: string;
  /** Whether a local reply of this session already carried the banner. */
  bannerShown: boolean;
  created: number;
  lastSeen: number;
  /** Last change, to pick the newer copy when another instance wrote it. */
  updated: number;
  history: HistoryRecord[];
}

/** Idle time after which a session is forgotten. */
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** History records kept per session. */
export const HISTORY_LIMIT = 50;
/** Longest stored history content. */
export const CONTENT_LIMIT = 1000;
const MEMORY_LIMIT = 10_000;
/** How stale the memory copy may get before it is compared with the store (other instances). */
const REFRESH_MS = 2_000;
/** lastSeen changes alone are written at most this often. */
const TOUCH_MS = 60_000;
/** Shortest time between two writes of one session. */
const WRITE_INTERVAL_MS = 500;
/**
 * A change is written this long after it was made (shutdown writes at once): serializing a session with its
 * history costs ~0.1 ms, which a request should not wait for, and changes made meanwhile share the write.
 */
const WRITE_DELAY_MS = 100;

interface Cached {
  session: Session;
  fetchedAt: number;
}

/** The KV key of a session. */
export function sessionKey(owner: string, id: string): Deno.KvKey {
  return ["session", owner, id];
}

/** Sessions in memory with write-through to the store. */
export class SessionStore {
  #mem = new Map<string, Cached>();
  #writing = new Map<string, Promise<void>>();
  #dirty = new Map<string, Session>();
  #loading = new Map<string, Promise<Session | undefined>>();
  /** Pending pauses between two writes of one busy session; flush() ends them at once. */
  #pauses = new Set<() => void>();
  #flushing = false;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly onError: (message: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The session (owner, id): from memory, else the store, else a new one. Expired ones start afresh. A session
   * held in memory and compared with the store within {@link REFRESH_MS} is answered at once, not in a promise
   * (the common case of a busy session: no promise, no Map reordering per request).
   */
  get(owner: string, id: string): Session | Promise<Session> {
    const k = `${owner}\n${id}`;
    const now = this.now();
    const c = this.#mem.get(k);
    if (c && now - c.fetchedAt <= REFRESH_MS) return this.#seen(c, now);
    return this.#refresh(k, owner, id, now, c);
  }

  /** Read the session from the store (shared by concurrent requests), keep the newer copy, and see it. */
  async #refresh(k: string, owner: string, id: string, now: number, c: Cached | undefined): Promise<Session> {
    // Concurrent requests of one session share one read, so they share one Session object.
    let read = this.#loading.get(k);
    if (!read) {
      read = this.#read(owner, id).finally(() => this.#loading.delete(k));
      this.#loading.set(k, read);
    }
    const stored = await read;
    const again = this.#mem.get(k);
    if (again) c = again;
    if (!c || (stored && stored.updated > c.session.updated)) {
      c = { session: stored ?? fresh(owner, id, now), fetchedAt: now };
    } else {
      c.fetchedAt = now;
    }
    // Re-inserted as the most recent: memory is evicted in the order sessions were last compared with the store.
    this.#mem.delete(k);
    this.#mem.set(k, c);
    this.#evict();
    return this.#seen(c, now);
  }

  /** Note that the session was seen now; an expired one starts afresh. */
  #seen(c: Cached, now: number): Session {
    let s = c.session;
    if (now - s.lastSeen > SESSION_TTL_MS) {
      s = fresh(s.owner, s.id, now);
      c.session = s;
      this.save(s);
    } else if (now - s.lastSeen > TOUCH_MS) {
      s.lastSeen = now;
      this.save(s, false);
    } else {
      s.lastSeen = now;
    }
    return s;
  }

  /** The sessions held in memory (this instance's), most recently seen first, at most `limit`. */
  recent(limit: number): Session[] {
    return [...this.#mem.values()].map((c) => c.session).sort((a, b) => b.lastSeen - a.lastSeen).slice(
      0,
      limit,
    );
  }

  /**
   * Write a changed session through to the store, {@link WRITE_DELAY_MS} later (never awaited by requests;
   * writes coalesce per session).
   */
  save(s: Session, changed = true): void {
    if (changed) s.updated = this.now();
    const k = `${s.owner}\n${s.id}`;
    this.#dirty.set(k, s);
    if (this.#writing.has(k)) return;
    const loop = async () => {
      if (!this.#flushing) await this.#pause(WRITE_DELAY_MS);
      for (let next = this.#dirty.get(k); next; next = this.#dirty.get(k)) {
        this.#dirty.delete(k);
        try {
          const value = fitValue(next);
          await withLockRetry(() =>
            this.kv.set(sessionKey(next!.owner, next!.id), value, { expireIn: SESSION_TTL_MS })
          );
        } catch (e) {
          this.onError(`session ${next.id}: write failed: ${(e as Error)?.message ?? e}`);
        }
        // A busy session is written at most every WRITE_INTERVAL_MS, not once per request.
        if (this.#dirty.has(k) && !this.#flushing) await this.#pause(WRITE_INTERVAL_MS);
      }
      this.#writing.delete(k);
    };
    this.#writing.set(k, loop());
  }

  /** Append a history record (the last {@link HISTORY_LIMIT} are kept) and save. */
  record(s: Session, r: HistoryRecord): void {
    if (r.content !== undefined && r.content.length > CONTENT_LIMIT) {
      r = { ...r, content: r.content.slice(0, CONTENT_LIMIT) + "…" };
    }
    s.history.push(r);
    while (s.history.length > HISTORY_LIMIT) s.history.shift();
    this.save(s);
  }

  /** Wait for every pending write (clean shutdown): pauses end at once. */
  async flush(): Promise<void> {
    this.#flushing = true;
    for (const end of this.#pauses) end();
    while (this.#writing.size) await Promise.all([...this.#writing.values()]);
    this.#flushing = false;
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(t);
        this.#pauses.delete(end);
        resolve();
      };
      const t = setTimeout(end, ms);
      this.#pauses.add(end);
    });
  }

  async #read(owner: string, id: string): Promise<Session | undefined> {
    try {
      const r = await withLockRetry(() => this.kv.get<Session>(sessionKey(owner, id)));
      const v = r.value;
      if (!v || typeof v !== "object" || !Array.isArray(v.history)) return undefined;
      return v;
    } catch (e) {
      this.onError(`session ${id}: read failed: ${(e as Error)?.message ?? e}`);
      return undefined;
    }
  }

  #evict(): void {
    for (const k of this.#mem.keys()) {
      if (this.#mem.size <= MEMORY_LIMIT) break;
      this.#mem.delete(k);
    }
  }
}

function fresh(owner: string, id: string, now: number): Session {
  return { owner, id, bannerShown: false, created: now, lastSeen: now, updated: now, history: [] };
}

/** The session as stored: history trimmed from the oldest until the record fits KV's value limit. */
export function fitValue(s: Session): Session {
  let v = s;
  while (storedBytes(v) > MAX_VALUE_BYTES && v.history.length) {
    v = { ...v, history: v.history.slice(Math.max(1, Math.floor(v.history.length / 4))) };
  }
  return v;
}
