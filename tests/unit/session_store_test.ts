import assert from "node:assert/strict";
import {
  fitValue,
  HISTORY_LIMIT,
  type Session,
  SESSION_TTL_MS,
  sessionKey,
  SessionStore,
} from "../../src/sessions/store.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("sessions are written through to KV and read back by another store (another instance)", async () => {
  await withKv(async (kv) => {
    const a = new SessionStore(kv);
    const s = await a.get("KEY_1", "s1");
    s.project = "p";
    a.save(s);
    await a.flush();
    const stored = await kv.get<Session>(sessionKey("KEY_1", "s1"));
    assert.equal(stored.value?.project, "p");
    const b = new SessionStore(kv);
    assert.equal((await b.get("KEY_1", "s1")).project, "p");
    assert.equal((await b.get("KEY_2", "s1")).project, undefined, "owner is part of the key");
  });
});

Deno.test("concurrent first requests of one session share one Session object", async () => {
  await withKv(async (kv) => {
    const store = new SessionStore(kv);
    const [x, y] = await Promise.all([store.get("k", "same"), store.get("k", "same")]);
    assert.equal(x, y);
  });
});

Deno.test("a session idle for more than 7 days starts afresh (checked on read)", async () => {
  await withKv(async (kv) => {
    let now = 1_000_000;
    const store = new SessionStore(kv, () => {}, () => now);
    const s = await store.get("k", "old");
    s.project = "p";
    store.save(s);
    await store.flush();
    now += SESSION_TTL_MS - 1000;
    assert.equal((await store.get("k", "old")).project, "p", "still within 7 days");
    now += SESSION_TTL_MS + 1000;
    assert.equal((await store.get("k", "old")).project, undefined);
    await store.flush();
    // Another instance reading the store after expiry sees the fresh one too.
    const other = new SessionStore(kv, () => {}, () => now);
    assert.equal((await other.get("k", "old")).project, undefined);
  });
});

Deno.test("history keeps the last 50 records and the stored value stays within KV's 64 KiB limit", async () => {
  await withKv(async (kv) => {
    const store = new SessionStore(kv);
    const s = await store.get("k", "h");
    for (let i = 0; i < 120; i++) {
      store.record(s, {
        time: i,
        handler: "backend",
        stream: false,
        outcome: "ok",
        content: "x".repeat(5000),
      });
    }
    assert.equal(s.history.length, HISTORY_LIMIT);
    assert.equal(s.history[0].time, 70);
    assert.ok(s.history.every((r) => r.content!.length <= 1001), "content truncated");
    await store.flush();
    // Truncated content ends in "…", which makes KV store the text as UTF-16: the write must still fit.
    const stored = (await kv.get<Session>(sessionKey("k", "h"))).value!;
    assert.ok(stored.history.length > 0);
    assert.equal(stored.history.at(-1)!.time, 119, "the last state was written");
    const big: Session = {
      ...s,
      history: Array.from(
        { length: 50 },
        (_, i) => ({
          time: i,
          handler: "proxy" as const,
          stream: false,
          outcome: "ok",
          content: "€".repeat(1000),
        }),
      ),
    };
    const fitted = fitValue(big);
    await kv.set(["fits"], fitted); // throws "Value too large" beyond KV's 64 KiB (strings count as UTF-16)
    assert.ok(fitted.history.length < 50, "trimmed");
    assert.equal(fitted.history.at(-1)!.time, 49, "the newest records are kept");
  });
});

Deno.test("many saves of one session coalesce into few writes and the last state wins", async () => {
  await withKv(async (kv) => {
    let writes = 0;
    const set = kv.set.bind(kv);
    kv.set = ((...a: Parameters<Deno.Kv["set"]>) => {
      writes++;
      return set(...a);
    }) as Deno.Kv["set"];
    const store = new SessionStore(kv);
    const s = await store.get("k", "c");
    for (let i = 0; i < 100; i++) {
      s.project = `p${i}`;
      store.save(s);
    }
    await store.flush();
    assert.ok(writes <= 3, `writes: ${writes}`);
    assert.equal((await kv.get<Session>(sessionKey("k", "c"))).value!.project, "p99");
  });
});

Deno.test("a session seen within 2 s is answered from memory; later a newer copy by another instance is read", async () => {
  await withKv(async (kv) => {
    let reads = 0;
    const get = kv.get.bind(kv);
    kv.get = ((...a: Parameters<Deno.Kv["get"]>) => {
      reads++;
      return get(...a);
    }) as Deno.Kv["get"];
    let now = 1_000_000;
    const a = new SessionStore(kv, () => {}, () => now);
    const b = new SessionStore(kv, () => {}, () => now);
    const s = await a.get("k", "busy");
    assert.equal(reads, 1);
    for (let i = 0; i < 10; i++) {
      now += 150;
      assert.equal(await a.get("k", "busy"), s, "the same object from memory");
      assert.equal(s.lastSeen, now, "seen now");
    }
    assert.equal(reads, 1, "no store read within 2 s");
    const other = await b.get("k", "busy");
    now += 1;
    other.project = "from b";
    b.save(other);
    await b.flush();
    now += 2_000;
    assert.equal((await a.get("k", "busy")).project, "from b", "compared with the store after 2 s");
  });
});

Deno.test("memory keeps the sessions in use: past 10,000 the one compared with the store longest ago goes", async () => {
  await withKv(async (kv) => {
    let now = 1_000_000;
    const store = new SessionStore(kv, () => {}, () => now);
    const first = await store.get("k", "s0");
    first.project = "only in memory";
    const second = await store.get("k", "s1");
    second.project = "only in memory";
    for (let i = 2; i < 10_000; i++) await store.get("k", `s${i}`);
    now += 2_001;
    assert.equal(await store.get("k", "s0"), first, "still held");
    await store.get("k", "new");
    assert.equal((await store.get("k", "s0")).project, "only in memory", "the session in use stays");
    assert.equal((await store.get("k", "s1")).project, undefined, "the oldest was evicted and read afresh");
  });
});

Deno.test("two instances on one store: an override set through one survives the other's history writes, and both histories are kept", async () => {
  await withKv(async (kv) => {
    let now = 1_000_000;
    const a = new SessionStore(kv, () => {}, () => now);
    const b = new SessionStore(kv, () => {}, () => now);
    const record = (store: SessionStore, s: Session, outcome: string) =>
      store.record(s, { time: now, handler: "backend", stream: false, outcome });
    const inB = await b.get("k", "s");
    record(b, inB, "b1");
    await b.flush();
    now += 10;
    const inA = await a.get("k", "s");
    inA.model = "openrouter:x";
    a.save(inA);
    record(a, inA, "a1");
    now += 10;
    record(b, inB, "b2"); // b's copy changed last (its history), and holds no override
    await a.flush();
    await b.flush();
    const stored = (await kv.get<Session>(sessionKey("k", "s"))).value!;
    assert.equal(stored.model, "openrouter:x", "b's write kept a's override");
    assert.deepEqual(stored.history.map((h) => h.outcome), ["b1", "a1", "b2"]);
    assert.equal(inB.model, "openrouter:x", "b's own copy took it when it wrote");
    now += 2_500;
    assert.equal((await b.get("k", "s")).model, "openrouter:x");
    // An unset is a change of the settings too: it wins over the older value the other copy holds.
    now += 10;
    const again = await a.get("k", "s");
    again.model = undefined;
    a.save(again);
    await a.flush();
    now += 2_500;
    assert.equal((await b.get("k", "s")).model, undefined);
  });
});
