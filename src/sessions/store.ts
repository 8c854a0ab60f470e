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
  /**
   * Last change of the settings (overrides, project, interactive, agent, banner): when two instances hold the
   * session, the newer settings win and the histories are joined (absent in records stored before this field:
   * `created` stands for it).
   */
  settingsUpdated?: number;
  history: HistoryRecord[];
}

/** The fields of a session that one change sets as a whole: the newer copy's win when instances meet. */
const SETTINGS = ["model", "backend", "project", "interactive", "agent", "bannerShown"] as const;

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

  /** Read the session from the store (shared by concurrent requests), join it into the held copy, and see it. */
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
    if (!c) c = { session: stored ?? fresh(owner, id, now), fetchedAt: now };
    else {
      if (stored) mergeStored(c.session, stored);
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
   * Write a session whose settings changed (`changed`; false: only `lastSeen`) through to the store,
   * {@link WRITE_DELAY_MS} later (never awaited by requests; writes coalesce per session).
   */
  save(s: Session, changed = true): void {
    if (changed) s.settingsUpdated = this.now();
    this.#write(s);
  }

  /**
   * Write `s` {@link WRITE_DELAY_MS} from now, coalesced per session. Each write reads the stored copy first and
   * joins it into `s` (another instance's newer settings and its history records), then stores the result only
   * if nobody wrote in between (else it reads and joins again): no instance's change is lost to another's.
   */
  #write(s: Session): void {
    const k = `${s.owner}\n${s.id}`;
    this.#dirty.set(k, s);
    if (this.#writing.has(k)) return;
    const loop = async () => {
      if (!this.#flushing) await this.#pause(WRITE_DELAY_MS);
      for (let next = this.#dirty.get(k); next; next = this.#dirty.get(k)) {
        this.#dirty.delete(k);
        try {
          await this.#joinAndSet(next);
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
    this.#write(s);
  }

  /** One write of `s`: join the stored copy in, then set it unless the record changed meanwhile (then again). */
  async #joinAndSet(s: Session): Promise<void> {
    const key = sessionKey(s.owner, s.id);
    for (let tries = 0;; tries++) {
      const stored = await withLockRetry(() => this.kv.get<Session>(key));
      if (isSession(stored.value)) mergeStored(s, stored.value);
      const done = await withLockRetry(() =>
        this.kv.atomic().check(stored).set(key, fitValue(s), { expireIn: SESSION_TTL_MS }).commit()
      );
      if (done.ok) return;
      if (tries >= 10) throw new Error("the store kept changing under the write");
    }
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
      return isSession(r.value) ? r.value : undefined;
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

/** A stored value shaped like a session. */
function isSession(v: unknown): v is Session {
  return !!v && typeof v === "object" && Array.isArray((v as Session).history);
}

/**
 * Join the stored copy of a session into the one held in memory (in place: requests hold that object): the
 * settings of the copy changed last win; the history is both copies' records in time order (the last
 * {@link HISTORY_LIMIT}), each once. The copy of an expired session (which this one replaced) is ignored.
 */
export function mergeStored(mine: Session, stored: Session): void {
  // A copy last seen more than the idle limit before this one began is the expired session it replaced.
  if (mine.created - stored.lastSeen > SESSION_TTL_MS) return;
  const theirs = stored.settingsUpdated ?? stored.created;
  const ours = mine.settingsUpdated ?? mine.created;
  if (theirs > ours) {
    for (const f of SETTINGS) (mine as unknown as Record<string, unknown>)[f] = stored[f];
    mine.settingsUpdated = theirs;
  }
  if (stored.history.length) mine.history = joinHistory(mine.history, stored.history);
  mine.created = Math.min(mine.created, stored.created);
  mine.lastSeen = Math.max(mine.lastSeen, stored.lastSeen);
}

/** Two histories as one: records in time order, a record in both (the same fields) once, the last 50 kept. */
function joinHistory(a: HistoryRecord[], b: HistoryRecord[]): HistoryRecord[] {
  const seen = new Set<string>();
  const all: HistoryRecord[] = [];
  for (const r of [...a, ...b].sort((x, y) => x.time - y.time)) {
    const id = JSON.stringify(r);
    if (seen.has(id)) continue;
    seen.add(id);
    all.push(r);
  }
  return all.length > HISTORY_LIMIT ? all.slice(all.length - HISTORY_LIMIT) : all;
}

function fresh(owner: string, id: string, now: number): Session {
  return {
    owner,
    id,
    bannerShown: false,
    created: now,
    lastSeen: now,
    settingsUpdated: now,
    history: [],
  };
}

/** The session as stored: history trimmed from the oldest until the record fits KV's value limit. */
export function fitValue(s: Session): Session {
  let v = s;
  while (storedBytes(v) > MAX_VALUE_BYTES && v.history.length) {
    v = { ...v, history: v.history.slice(Math.max(1, Math.floor(v.history.length / 4))) };
  }
  return v;
}
