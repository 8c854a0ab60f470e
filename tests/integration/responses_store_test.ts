/**
 * Stored responses of the Responses front end (SPEC §17.2) through the `openai` SDK: kept unless `store:false`
 * (which never touches the store), read and deleted only by the client key that made them, chained with
 * `previous_response_id` (recursively, `instructions` not inherited), `item_reference`, long conversations
 * split across KV values, and expiry after `--responses-retention-days`.
 */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { FakeTime } from "../support/fake_time.ts";

const KEY = "sk-or-v1-" + "2".repeat(64);
const DAY = 86_400_000;

async function setup(args: string[] = []) {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--openrouter-api-base-url", mock.url, ...args], {
    OPENROUTER_API_KEY: KEY,
    LLM_INTERACTIVE_PROXY_API_KEY_1: "client-one",
    LLM_INTERACTIVE_PROXY_API_KEY_2: "client-two",
  });
  return {
    mock,
    proxy,
    one: proxy.client("client-one"),
    two: proxy.client("client-two"),
    async close() {
      await proxy.close();
      await mock.close();
    },
  };
}

async function storedKeys(proxy: TestProxy): Promise<number> {
  let n = 0;
  for await (const _ of proxy.kv.list({ prefix: ["responses"] })) n++;
  for await (const _ of proxy.kv.list({ prefix: ["responses_item"] })) n++;
  return n;
}

async function status(p: Promise<unknown>): Promise<{ status?: number; code?: string; param?: string }> {
  return await p.then(() => ({ status: 200 }), (e) => ({ status: e.status, code: e.code, param: e.param }));
}

Deno.test("stored responses: kept by default, readable by their owner only, never kept with store:false", async () => {
  const t = await setup();
  try {
    const r = await t.one.responses.create({ model: "m", input: "remember me" });
    const got = await t.one.responses.retrieve(r.id);
    assert.equal(got.id, r.id);
    assert.equal(got.output_text, "Echo from m: remember me");
    assert.equal(got.status, "completed");
    assert.deepEqual(await status(t.two.responses.retrieve(r.id)), {
      status: 404,
      code: "response_not_found",
      param: null,
    });
    assert.deepEqual(await status(t.one.responses.retrieve("resp_unknown")), {
      status: 404,
      code: "response_not_found",
      param: null,
    });

    const before = await storedKeys(t.proxy);
    const streamed = await t.one.responses.create({
      model: "m",
      input: "forget me",
      store: false,
      stream: true,
    });
    let id = "";
    for await (const ev of streamed) if (ev.type === "response.completed") id = ev.response.id;
    const plain = await t.one.responses.create({ model: "m", input: "forget me too", store: false });
    assert.equal(await storedKeys(t.proxy), before, "store:false writes nothing");
    assert.equal((await status(t.one.responses.retrieve(id))).status, 404);
    assert.deepEqual(
      await status(t.one.responses.create({ model: "m", input: "x", previous_response_id: plain.id })),
      {
        status: 404,
        code: "previous_response_not_found",
        param: "previous_response_id",
      },
    );
  } finally {
    await t.close();
  }
});

Deno.test("stored responses: previous_response_id prepends the stored conversation recursively, without the old instructions", async () => {
  const t = await setup();
  try {
    const r1 = await t.one.responses.create({ model: "m", instructions: "Old rules.", input: "first" });
    const stream = await t.one.responses.create({
      model: "m",
      input: "second",
      previous_response_id: r1.id,
      stream: true,
    });
    let r2 = "";
    for await (const ev of stream) if (ev.type === "response.completed") r2 = ev.response.id;
    const r3 = await t.one.responses.create({
      model: "m",
      instructions: "New rules.",
      input: [{ role: "user", content: "third" }],
      previous_response_id: r2,
    });
    assert.equal(r3.previous_response_id, r2);
    assert.deepEqual(t.mock.chats[2].body?.messages, [
      { role: "system", content: "New rules." },
      { role: "user", content: "first" },
      { role: "assistant", content: "Echo from m: first" },
      { role: "user", content: "second" },
      { role: "assistant", content: "Echo from m: second" },
      { role: "user", content: "third" },
    ]);
    assert.deepEqual(
      await status(t.two.responses.create({ model: "m", input: "x", previous_response_id: r3.id })),
      {
        status: 404,
        code: "previous_response_not_found",
        param: "previous_response_id",
      },
      "another key cannot chain onto it",
    );
    assert.equal(t.mock.chats.length, 3, "a failed chain sends nothing upstream");

    const ref = await t.one.responses.create({
      model: "m",
      store: false,
      input: [{ type: "item_reference", id: r1.output[0].id! }, { role: "user", content: "again" }],
    });
    assert.equal(ref.output_text, "Echo from m: again");
    assert.deepEqual(t.mock.chats[3].body?.messages, [
      { role: "assistant", content: "Echo from m: first" },
      { role: "user", content: "again" },
    ]);
    const missing = await t.one.responses.create({
      model: "m",
      input: [{ type: "item_reference", id: "msg_nope" }],
    }).catch((e) => e);
    assert.equal(missing.status, 404);
    assert.equal(missing.param, "input.0.id");
  } finally {
    await t.close();
  }
});

Deno.test("stored responses: DELETE by the owner only; a deleted response cannot be read or chained", async () => {
  const t = await setup();
  try {
    const r = await t.one.responses.create({ model: "m", input: "short-lived" });
    const del = (key: string) =>
      t.proxy.fetch(`/v1/responses/${r.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${key}` },
      });
    const foreign = await del("client-two");
    assert.equal(foreign.status, 404);
    await foreign.body?.cancel();
    assert.equal((await t.one.responses.retrieve(r.id)).id, r.id, "still there after a foreign delete");
    const own = await del("client-one");
    assert.equal(own.status, 200);
    assert.deepEqual(await own.json(), { id: r.id, object: "response", deleted: true });
    assert.equal((await status(t.one.responses.retrieve(r.id))).status, 404);
    assert.equal(
      (await status(t.one.responses.create({ model: "m", input: "x", previous_response_id: r.id }))).code,
      "previous_response_not_found",
    );
    const again = await del("client-one");
    assert.equal(again.status, 404);
    await again.body?.cancel();
    assert.equal(await storedKeys(t.proxy), 0, "every part and index entry is gone");
    const alias = await t.proxy.fetch(`/responses/${r.id}`, {
      headers: { authorization: "Bearer client-one" },
    });
    assert.equal(alias.status, 404, "the alias without /v1 answers too");
    await alias.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("stored responses: a conversation larger than a KV value is split across records and chains whole", async () => {
  const t = await setup();
  try {
    const big = "lorem ipsum ".repeat(30_000); // ~360 KB, several KV values
    const r = await t.one.responses.create({ model: "m", input: big });
    const parts = [];
    for await (const e of t.proxy.kv.list({ prefix: ["responses", r.id] })) parts.push(e);
    assert.ok(parts.length >= 6, `split into ${parts.length} records`);
    const next = await t.one.responses.create({ model: "m", input: "and?", previous_response_id: r.id });
    assert.equal(next.output_text, "Echo from m: and?");
    const sent = t.mock.chats[1].body?.messages as { content: string }[];
    assert.equal(sent[0].content, big);
    assert.equal((await t.one.responses.retrieve(r.id)).output_text, `Echo from m: ${big}`);
  } finally {
    await t.close();
  }
});

Deno.test("stored responses: expire after --responses-retention-days", async () => {
  const t = await setup(["--responses-retention-days", "2"]);
  try {
    const r = await t.one.responses.create({ model: "m", input: "soon gone" });
    const clock = new FakeTime(Date.now() + DAY);
    try {
      assert.equal((await t.one.responses.retrieve(r.id)).id, r.id, "kept within the retention");
      clock.tick(1.5 * DAY);
      assert.equal((await status(t.one.responses.retrieve(r.id))).status, 404);
      assert.equal(
        (await status(t.one.responses.create({ model: "m", input: "x", previous_response_id: r.id }))).code,
        "previous_response_not_found",
      );
    } finally {
      clock.restore();
    }
  } finally {
    await t.close();
  }
});
