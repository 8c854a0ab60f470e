/**
 * The Gemini front end over HTTP (SPEC §17.3): translation both ways to an OpenAI-compatible upstream,
 * pass-through to the `gemini` provider under the pooled key (rotation, failover, usage, redaction), Google's
 * stream shapes (`?alt=sse` and the JSON array), Google's error shape, local replies, countTokens and models.
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { geminiAnswer, geminiSse, MockGemini, quota429, usageMeta } from "../mocks/gemini_upstream.ts";
import { MockOpenAI, orError, sseResponse } from "../mocks/openai_upstream.ts";

const CLIENT_KEY = "llmproxy-client-key-0123456789";
const G1 = "AIzaSy" + "1".repeat(33);
const G2 = "AIzaSy" + "2".repeat(33);
const OR_KEY = "sk-or-v1-" + "e".repeat(64);

interface Env {
  proxy: TestProxy;
  gemini: MockGemini;
  openai: MockOpenAI;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** Run `fn` against a proxy with both mocks; resolves to the proxy's whole log (read after it closed). */
async function withProxy(
  fn: (e: Env) => Promise<void>,
  extraEnv: Record<string, string> = {},
): Promise<string> {
  const gemini = MockGemini.start();
  const openai = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const config = `${dir}/llmproxy.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ model_aliases: { "gpt-alias": "openrouter:openai/gpt-4o-mini" } }),
  );
  const proxy = await startTestProxy(["--config", config], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    GEMINI_API_BASE_URL: gemini.url,
    GEMINI_API_KEY_1: G1,
    GEMINI_API_KEY_2: G2,
    OPENROUTER_API_BASE_URL: openai.url,
    OPENROUTER_API_KEY: OR_KEY,
    LLM_BACKEND: "gemini",
    ...extraEnv,
  });
  try {
    await fn({
      proxy,
      gemini,
      openai,
      post: (path, body, headers = {}) =>
        proxy.fetch(path, {
          method: "POST",
          headers: { "content-type": "application/json", "x-goog-api-key": CLIENT_KEY, ...headers },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
    });
  } finally {
    await proxy.close();
    await gemini.close();
    await openai.close();
    await Deno.remove(dir, { recursive: true });
  }
  return await proxy.logText();
}

const HELLO = { contents: [{ role: "user", parts: [{ text: "hello world" }] }] };

/** The JSON payloads of an SSE body, checking Google's framing: no `[DONE]`. */
function sseJson(text: string): Record<string, unknown>[] {
  assert.equal(text.includes("[DONE]"), false, "Google's streams have no [DONE]");
  return text.split(/\r?\n\r?\n/).filter((e) => e.trim()).map((e) => {
    assert.match(e, /^data: /);
    return JSON.parse(e.slice(6));
  });
}

type Candidate = { content: { parts: Record<string, unknown>[] }; finishReason?: string };
const candidates = (r: Record<string, unknown>) => (r.candidates ?? []) as Candidate[];
const streamText = (events: Record<string, unknown>[]) =>
  events.flatMap((e) => candidates(e).flatMap((c) => c.content.parts.map((p) => p.text ?? ""))).join("");

Deno.test("gemini front end → OpenAI-compatible upstream: the request is translated field by field", async () => {
  await withProxy(async ({ post, openai }) => {
    openai.onChat = () =>
      Response.json({
        id: "gen-9",
        object: "chat.completion",
        model: "openai/gpt-4o-mini",
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: "Let me look.",
            reasoning: "thinking it over",
            tool_calls: [{
              id: "call_7",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            }],
          },
          finish_reason: "tool_calls",
        }],
        usage: {
          prompt_tokens: 40,
          completion_tokens: 12,
          total_tokens: 52,
          prompt_tokens_details: { cached_tokens: 8 },
          completion_tokens_details: { reasoning_tokens: 5 },
        },
      });
    const res = await post("/v1beta/models/gpt-alias:generateContent", {
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Use tools." }] },
      contents: [
        {
          role: "user",
          parts: [
            { text: "weather in Paris?" },
            { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
            { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
            { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/cat.jpg" } },
          ],
        },
        {
          role: "model",
          parts: [
            { text: "hidden reasoning", thought: true },
            { text: "Checking." },
            { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2lnLTE=" },
          ],
        },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp: 21 } } }] },
        { role: "user", parts: [{ text: "and tomorrow?" }] },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "Weather for a city",
              parameters: {
                type: "OBJECT",
                properties: { city: { type: "STRING", nullable: true } },
                required: ["city"],
                propertyOrdering: ["city"],
              },
            },
            {
              name: "get_time",
              parametersJsonSchema: { type: "object", properties: { tz: { type: "string" } } },
            },
          ],
        },
        { googleSearch: {} },
      ],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } },
      generationConfig: {
        temperature: 0.4,
        topP: 0.9,
        topK: 20,
        maxOutputTokens: 300,
        stopSequences: ["END"],
        seed: 7,
        responseMimeType: "application/json",
        responseSchema: { type: "OBJECT", properties: { answer: { type: "STRING" } } },
        thinkingConfig: { thinkingBudget: 1000, includeThoughts: true },
      },
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("x-llmproxy-model"), "openrouter:openai/gpt-4o-mini");
    assert.equal(res.headers.get("x-llmproxy-dropped-tools"), "googleSearch");
    const sent = openai.chats[0].body!;
    const messages = sent.messages as Record<string, unknown>[];
    const callId = (messages[2].tool_calls as { id: string }[])[0].id;
    assert.match(callId, /^call_1_2__ts_/, "the thought signature rides in the tool-call id");
    assert.deepEqual(sent, {
      model: "openai/gpt-4o-mini",
      messages: [
        { role: "system", content: "Be brief.\nUse tools." },
        {
          role: "user",
          content: [
            { type: "text", text: "weather in Paris?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          ],
        },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [{
            id: callId,
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          }],
        },
        { role: "tool", tool_call_id: callId, content: '{"temp":21}' },
        { role: "user", content: "and tomorrow?" },
      ],
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: {
            type: "object",
            properties: { city: { type: ["string", "null"] } },
            required: ["city"],
          },
        },
      }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      temperature: 0.4,
      top_p: 0.9,
      top_k: 20,
      max_tokens: 300,
      seed: 7,
      stop: ["END"],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "response",
          schema: { type: "object", properties: { answer: { type: "string" } } },
        },
      },
      reasoning_effort: "low",
    });
    // …and the answer comes back as a GenerateContentResponse.
    assert.deepEqual(await res.json(), {
      candidates: [{
        content: {
          role: "model",
          parts: [
            { text: "thinking it over", thought: true },
            { text: "Let me look." },
            { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "call_7" } },
          ],
        },
        finishReason: "STOP",
        index: 0,
      }],
      usageMetadata: {
        promptTokenCount: 40,
        candidatesTokenCount: 7,
        thoughtsTokenCount: 5,
        cachedContentTokenCount: 8,
        totalTokenCount: 52,
      },
      modelVersion: "openai/gpt-4o-mini",
      responseId: "gen-9",
    });
  });
});

Deno.test("gemini front end → OpenAI-compatible upstream: streams in Google's SSE and JSON-array shapes, usage on the last event", async () => {
  await withProxy(async ({ post, openai }) => {
    const sse = await post("/v1beta/models/gpt-alias:streamGenerateContent?alt=sse", HELLO);
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get("content-type")!, /^text\/event-stream/);
    const events = sseJson(await sse.text());
    assert.equal(streamText(events), "Echo from openai/gpt-4o-mini: hello world");
    const last = events.at(-1)!;
    assert.equal(candidates(last)[0].finishReason, "STOP");
    assert.deepEqual(last.usageMetadata, {
      promptTokenCount: 7,
      candidatesTokenCount: 5,
      totalTokenCount: 12,
    });
    assert.equal(openai.chats[0].body!.stream, true);
    assert.deepEqual(openai.chats[0].body!.stream_options, { include_usage: true });

    const array = await post("/v1beta/models/gpt-alias:streamGenerateContent", HELLO);
    assert.equal(array.status, 200);
    assert.match(array.headers.get("content-type")!, /^application\/json/);
    const list = JSON.parse(await array.text()) as Record<string, unknown>[];
    assert.ok(Array.isArray(list) && list.length > 1);
    assert.equal(streamText(list), "Echo from openai/gpt-4o-mini: hello world");
    assert.equal(candidates(list.at(-1)!)[0].finishReason, "STOP");

    // A failure after the commit ends the stream with Google's error object, not a Chat one.
    openai.onChat = () =>
      sseResponse([
        `data: ${
          JSON.stringify({
            id: "g",
            object: "chat.completion.chunk",
            model: "m",
            choices: [{ index: 0, delta: { content: "partial" } }],
          })
        }`,
        `data: ${JSON.stringify({ error: { code: 502, message: "upstream broke" } })}`,
      ]);
    const broken = sseJson(
      await (await post("/v1beta/models/gpt-alias:streamGenerateContent?alt=sse", HELLO)).text(),
    );
    assert.equal(streamText(broken), "partial");
    const err = broken.at(-1)!.error as Record<string, unknown>;
    assert.equal(err.code, 502);
    assert.equal(err.status, "UNAVAILABLE");
    assert.match(String(err.message), /upstream broke/);
  });
});

Deno.test("gemini front end → gemini: the client's body passes through under the pooled key, answers as they came", async () => {
  await withProxy(async ({ post, gemini, proxy }) => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "hello world" }] }],
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      tools: [{ googleSearch: {} }],
      someFutureField: { kept: true },
    };
    gemini.onGenerate = () =>
      Response.json({ ...geminiAnswer([{ text: "as is" }]), groundingExtra: { x: 1 } });
    const res = await post("/v1beta/models/gemini-2.5-flash:generateContent", body);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_1");
    assert.equal(res.headers.get("x-llmproxy-dropped-tools"), null, "passed through: nothing was dropped");
    assert.deepEqual(await res.json(), { ...geminiAnswer([{ text: "as is" }]), groundingExtra: { x: 1 } });
    assert.deepEqual(gemini.generations[0].body, body, "unknown fields and Google-only tools pass through");
    assert.equal(gemini.generations[0].key, G1);

    // The next request rotates to the next key; the record names the front end and the upstream's usage.
    gemini.onGenerate = undefined;
    const second = await post("/v1beta/models/gemini-2.5-flash:generateContent", HELLO);
    assert.equal(second.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_2");
    await second.body?.cancel();
    const recent = await (await proxy.fetch("/usage/recent?limit=5", {
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })).json();
    const rec = recent.data.find((r: Record<string, unknown>) => r.keyLabel === "GEMINI_API_KEY_2");
    assert.equal(rec.frontend, "gemini");
    assert.equal(rec.requestedModel, "gemini-2.5-flash");
    assert.equal(rec.promptTokens, 11);
  });
});

Deno.test("gemini front end → gemini: streams pass through (SSE or JSON array); a 429 before the commit fails over to the next key", async () => {
  await withProxy(async ({ post, gemini, proxy }) => {
    const events = [
      geminiAnswer([{ text: "Hel" }], null, usageMeta(4, 1)),
      geminiAnswer([{ text: "lo" }], "STOP", usageMeta(4, 2)),
    ];
    gemini.onGenerate = (req) =>
      req.key === G1
        ? quota429("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "40s")
        : geminiSse(events);
    const res = await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HELLO);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_2");
    assert.equal(res.headers.get("x-llmproxy-attempts"), "2");
    assert.deepEqual(sseJson(await res.text()), events, "the events arrive as the upstream sent them");
    assert.equal(gemini.generations[0].search, "?alt=sse");

    const array = await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", HELLO);
    assert.deepEqual(JSON.parse(await array.text()), events);
    assert.equal(gemini.generations.at(-1)!.search, "?alt=sse", "upstream always streams SSE");

    const recent = await (await proxy.fetch("/usage/recent?limit=10", {
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })).json();
    const ok = recent.data.filter((r: Record<string, unknown>) => r.outcome === "ok");
    assert.ok(
      ok.length >= 1 && ok.every((r: Record<string, unknown>) => r.completionTokens === 2),
      JSON.stringify(ok),
    );
  });
});

Deno.test("gemini front end → gemini: an in-band error before the commit fails over; one after it ends the stream in Google's shape", async () => {
  await withProxy(async ({ post, gemini }) => {
    gemini.onGenerate = (_req, n) => {
      if (n === 1) {
        return geminiSse([{
          error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" },
        }]);
      }
      if (n === 2) return geminiSse([geminiAnswer([{ text: "fine" }])]);
      return geminiSse([
        geminiAnswer([{ text: "half" }], null),
        { error: { code: 500, message: `oops ${G2}`, status: "INTERNAL" } },
      ]);
    };
    const first = await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HELLO);
    assert.equal(first.headers.get("x-llmproxy-attempts"), "2");
    assert.equal(streamText(sseJson(await first.text())), "fine");

    const cut = sseJson(
      await (await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HELLO)).text(),
    );
    assert.equal(streamText(cut), "half");
    const err = cut.at(-1)!.error as Record<string, unknown>;
    // An upstream 5xx reaches the client as the proxy's 502 (SPEC §13), with the upstream's message.
    assert.equal(err.code, 502);
    assert.equal(err.status, "UNAVAILABLE");
    assert.match(String(err.message), /oops/);
    assert.equal(String(err.message).includes(G2), false, "key values are scrubbed from error texts");
  });
});

Deno.test("gemini front end: a secret typed into a part is redacted in the body passed to Gemini", async () => {
  await withProxy(async ({ post, gemini }) => {
    const res = await post("/v1beta/models/gemini-2.5-flash:generateContent", {
      contents: [{ role: "user", parts: [{ text: `my key is ${OR_KEY} ok` }] }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-llmproxy-redactions"), "1");
    await res.body?.cancel();
    const sent = JSON.stringify(gemini.generations[0].body);
    assert.equal(sent.includes(OR_KEY), false);
    assert.match(sent, /API_KEY_HAS_BEEN_REDACTED/);
  });
});

Deno.test("gemini front end: errors in Google's shape — field paths on 400, UNAUTHENTICATED, NOT_FOUND, RetryInfo on 429", async () => {
  const log = await withProxy(async ({ post, proxy, gemini }) => {
    const bad = async (body: unknown, path: RegExp) => {
      const res = await post("/v1beta/models/gemini-2.5-flash:generateContent", body);
      assert.equal(res.status, 400);
      const e = (await res.json()).error;
      assert.equal(e.code, 400);
      assert.equal(e.status, "INVALID_ARGUMENT");
      assert.match(e.message, path);
    };
    await bad("{not json", /not valid JSON/);
    await bad([1, 2], /must be a JSON object/);
    await bad({}, /contents: must be a non-empty list/);
    await bad(
      { contents: [{ role: "user", parts: [{ text: 5 }] }] },
      /contents\[0\]\.parts\[0\]\.text: must be a string/,
    );
    await bad(
      { contents: [{ role: "system", parts: [{ text: "x" }] }] },
      /contents\[0\]\.role: must be "user" or "model"/,
    );
    await bad({ contents: [{ role: "user", parts: [] }] }, /contents\[0\]\.parts: must be a non-empty list/);
    await bad(
      { contents: [{ role: "user", parts: [{}] }] },
      /contents\[0\]\.parts\[0\]: must carry one of text, /,
    );
    await bad(
      { contents: [{ role: "user", parts: [{ functionResponse: { name: "f", response: {} } }] }] },
      /contents\[0\]\.parts\[0\]\.functionResponse: answers no functionCall named "f"/,
    );
    await bad(
      { ...HELLO, generationConfig: { temperature: "hot" } },
      /generationConfig\.temperature: must be a number/,
    );
    await bad(
      { ...HELLO, tools: [{ functionDeclarations: [{ description: "no name" }] }] },
      /tools\[0\]\.functionDeclarations\[0\]\.name: must be a non-empty string/,
    );
    await bad(
      {
        ...HELLO,
        tools: [{ functionDeclarations: [{ name: "f" }] }],
        toolConfig: { functionCallingConfig: { mode: "SOMETIMES" } },
      },
      /toolConfig\.functionCallingConfig\.mode/,
    );
    assert.equal(gemini.generations.length, 0, "nothing invalid went upstream");

    const wrongKey = await post("/v1beta/models/gemini-2.5-flash:generateContent", HELLO, {
      "x-goog-api-key": "nope-nope-nope",
    });
    assert.equal(wrongKey.status, 401);
    assert.deepEqual(Object.keys((await wrongKey.json()).error).sort(), [
      "code",
      "details",
      "message",
      "status",
    ]);
    const viaQuery = await proxy.fetch(`/v1beta/models/gemini-2.5-flash:generateContent?key=${CLIENT_KEY}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(HELLO),
    });
    assert.equal(viaQuery.status, 200);
    await viaQuery.body?.cancel();
    const noKey = await proxy.fetch("/v1beta/models/gemini-2.5-flash:generateContent", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(HELLO),
    });
    assert.equal((await noKey.json()).error.status, "UNAUTHENTICATED");

    const unknown = await post("/v1beta/models/gemini-2.5-flash:embedContent", HELLO);
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.status, "NOT_FOUND");
    const get = await proxy.fetch("/v1beta/models/gemini-2.5-flash:generateContent", {
      headers: { "x-goog-api-key": CLIENT_KEY },
    });
    assert.equal(get.status, 405);
    await get.body?.cancel();

    // Every key out of its quota: 429 RESOURCE_EXHAUSTED with the wait as RetryInfo and retry-after.
    gemini.onGenerate = () => quota429("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "45s");
    const limited = await post("/v1beta/models/gemini-2.5-flash:generateContent", HELLO);
    assert.equal(limited.status, 429);
    const e = (await limited.json()).error;
    assert.equal(e.status, "RESOURCE_EXHAUSTED");
    const retry = e.details.find((d: Record<string, unknown>) =>
      String(d["@type"]).endsWith("google.rpc.RetryInfo")
    );
    assert.match(retry.retryDelay, /^\d+s$/);
    assert.equal(retry.retryDelay, `${limited.headers.get("retry-after")}s`);
  });
  assert.equal(log.includes(CLIENT_KEY), false, "the ?key= value is never logged");
  assert.match(log, /gemini-2\.5-flash:generateContent → 400 invalid_request/);
  assert.match(log, /POST \/v1beta\/models\/gemini-2\.5-flash:generateContent 200 backend=gemini/);
});

Deno.test("gemini front end: commands are answered locally in Gemini's shape; the Gemini CLI's <session_context> part is agent context", async () => {
  await withProxy(async ({ post, gemini }) => {
    const json = await post("/v1beta/models/gemini-2.5-flash:generateContent", {
      contents: [{ role: "user", parts: [{ text: "!/hello" }] }],
    });
    const answer = await json.json();
    assert.match(candidates(answer)[0].content.parts[0].text as string, /llmproxy/);
    assert.equal(candidates(answer)[0].finishReason, "STOP");

    const cliTurn = {
      contents: [{
        role: "user",
        parts: [{ text: "<session_context>\nThis is the Gemini CLI.\n</session_context>" }, {
          text: "!/hello",
        }],
      }],
      tools: [{ functionDeclarations: [{ name: "read_file" }] }],
    };
    const cli = { "user-agent": "GeminiCLI/0.61.0/gemini-2.5-pro (linux; x64)" };
    const sse = sseJson(
      await (await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", cliTurn, cli))
        .text(),
    );
    assert.equal(sse.length, 1);
    assert.match(streamText(sse), /Type !\/help/);
    const array = JSON.parse(
      await (await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", cliTurn, cli)).text(),
    );
    assert.ok(Array.isArray(array) && array.length === 1);
    assert.equal(gemini.generations.length, 0, "pure commands never go upstream");

    // A command next to a question: the command runs and the rest is forwarded (rebuilt from the model,
    // since the client's own body still holds the command).
    const mixed = await post("/v1beta/models/gemini-2.5-flash:generateContent", {
      contents: [
        { role: "user", parts: [{ text: "read a.txt" }] },
        {
          role: "model",
          parts: [{
            functionCall: { name: "read_file", args: { path: "a.txt" } },
            thoughtSignature: "c2lnLTE=",
          }],
        },
        { role: "user", parts: [{ functionResponse: { name: "read_file", response: { output: "2+2" } } }] },
        { role: "user", parts: [{ text: "!/set(project=alpha) what is 2+2?" }] },
      ],
      tools: [{ functionDeclarations: [{ name: "read_file", parametersJsonSchema: { type: "object" } }] }],
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
    });
    assert.equal(mixed.status, 200, await mixed.clone().text());
    assert.match(mixed.headers.get("x-llmproxy-commands") ?? "", /project/);
    assert.match(streamText([await mixed.json()]), /what is 2\+2\?/);
    const sent = gemini.generations[0].body!;
    assert.equal(JSON.stringify(sent).includes("!/set"), false, "the command is cut from what goes upstream");
    // Translated both ways: the function call keeps its thought signature, the response its content.
    assert.deepEqual((sent.contents as unknown[]).slice(1, 3), [
      {
        role: "model",
        parts: [{
          functionCall: { name: "read_file", args: { path: "a.txt" } },
          thoughtSignature: "c2lnLTE=",
        }],
      },
      { role: "user", parts: [{ functionResponse: { name: "read_file", response: { output: "2+2" } } }] },
    ]);
    assert.equal(sent.safetySettings, undefined, "rebuilt from the conversation model, not passed through");
  });
});

Deno.test("gemini front end: countTokens is Gemini's own count when the model goes to Gemini, else a local estimate; /v1beta/models lists the proxy's models in Gemini's shape", async () => {
  await withProxy(async ({ post, proxy, openai, gemini }) => {
    const countFor = async (model: string, body: unknown) => {
      const res = await post(`/v1beta/models/${model}:countTokens`, body);
      assert.equal(res.status, 200);
      return (await res.json()).totalTokens as number;
    };
    // The model goes to the gemini backend: Gemini counts, under a pooled key, the prompt redacted.
    const secret = { contents: [{ role: "user", parts: [{ text: `hello ${OR_KEY}` }] }] };
    assert.equal(await countFor("gemini-2.5-flash", secret), 1234);
    const asked = gemini.requests.filter((r) => r.path.endsWith(":countTokens"));
    assert.equal(asked.length, 1);
    assert.equal(asked[0].path, "/v1beta/models/gemini-2.5-flash:countTokens");
    assert.ok(asked[0].key === G1 || asked[0].key === G2, "a pooled key, not the client's");
    assert.equal(
      (asked[0].body as { generateContentRequest: { model: string } }).generateContentRequest.model,
      "models/gemini-2.5-flash",
    );
    assert.doesNotMatch(JSON.stringify(asked[0].body), new RegExp(OR_KEY), "the prompt is redacted");
    gemini.countTokens = undefined; // Gemini cannot count: the estimate answers
    assert.ok((await countFor("gemini-2.5-flash", HELLO)) > 0);
    assert.equal(gemini.requests.filter((r) => r.path.endsWith(":countTokens")).length, 2);

    // The model goes to an OpenAI-compatible backend, which has no count: a local estimate, no upstream call.
    const count = (body: unknown) => countFor("openrouter:openai/gpt-4o-mini", body);
    const plain = await count(HELLO);
    assert.ok(plain > 0);
    const withSystem = await count({
      ...HELLO,
      systemInstruction: { parts: [{ text: "You are a helpful assistant." }] },
    });
    assert.ok(withSystem > plain);
    const tool = {
      functionDeclarations: [{
        name: "read_file",
        description: "Read a file from disk",
        parametersJsonSchema: { type: "object" },
      }],
    };
    assert.ok(await count({ ...HELLO, tools: [tool] }) > plain);
    assert.equal(await count({ generateContentRequest: { model: "models/x", ...HELLO } }), plain);
    assert.equal(gemini.generations.length + openai.chats.length, 0, "no upstream call");

    const headers = { "x-goog-api-key": CLIENT_KEY };
    const list = await (await proxy.fetch("/v1beta/models", { headers })).json();
    const names = list.models.map((m: { name: string }) => m.name);
    assert.ok(names.includes("models/gemini:gemini-2.5-flash"), names.join(" "));
    assert.ok(names.includes("models/openrouter:openai/gpt-4o-mini"));
    assert.deepEqual(list.models[0].supportedGenerationMethods, [
      "generateContent",
      "streamGenerateContent",
      "countTokens",
    ]);
    const one = await (await proxy.fetch("/v1beta/models/gemini-2.5-pro", { headers })).json();
    assert.equal(one.name, "models/gemini-2.5-pro");
    assert.equal(one.displayName, "gemini:gemini-2.5-pro");
    const missing = await proxy.fetch("/v1beta/models/no-such-model", { headers });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.status, "NOT_FOUND");
    const unauth = await proxy.fetch("/v1beta/models");
    assert.equal(unauth.status, 401);
    assert.match((await unauth.json()).error.message, /send your llmproxy client key as x-goog-api-key/);
  });
});

Deno.test("gemini front end → OpenAI-compatible upstream: an upstream failure comes back in Google's shape", async () => {
  await withProxy(async ({ post, openai }) => {
    openai.onChat = () => orError(400, "This model does not support tools");
    const res = await post("/v1beta/models/gpt-alias:generateContent", HELLO);
    assert.equal(res.status, 400);
    const e = (await res.json()).error;
    assert.equal(e.status, "INVALID_ARGUMENT");
    assert.match(e.message, /does not support tools/);
  });
});

/** An endless upstream stream of `event(i)` every 20 ms, and whether the proxy cancelled it. */
function endless(event: (i: number) => string, contentType = "text/event-stream") {
  const state = { cancelled: false, response: undefined as unknown as () => Response };
  state.response = () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let i = 0;
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((r) => (timer = setTimeout(r, 20)));
        c.enqueue(enc.encode(event(i++)));
      },
      cancel() {
        state.cancelled = true;
        clearTimeout(timer);
      },
    });
    return new Response(body, { headers: { "content-type": contentType } });
  };
  return state;
}

Deno.test("gemini front end: a client that disconnects mid-stream ends the upstream stream at once (translated and passed through)", async () => {
  await withProxy(async ({ proxy, gemini, openai }) => {
    const chat = endless((i) =>
      `data: ${
        JSON.stringify({
          id: "g",
          object: "chat.completion.chunk",
          model: "m",
          choices: [{ index: 0, delta: { content: `t${i} ` } }],
        })
      }\n\n`
    );
    openai.onChat = () => chat.response();
    const google = endless((i) =>
      `data: ${JSON.stringify(geminiAnswer([{ text: `g${i} ` }], null))}\r\n\r\n`
    );
    gemini.onGenerate = () => google.response();
    for (
      const [path, upstream] of [
        ["/v1beta/models/gpt-alias:streamGenerateContent", chat],
        ["/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", google],
      ] as const
    ) {
      const ctl = new AbortController();
      const res = await proxy.fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": CLIENT_KEY },
        body: JSON.stringify(HELLO),
        signal: ctl.signal,
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      await reader.read();
      ctl.abort();
      await reader.cancel().catch(() => {});
      for (let i = 0; i < 100 && !upstream.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(upstream.cancelled, `${path}: the upstream stream was cancelled`);
    }
  });
});

Deno.test("gemini front end → gemini with --audit-content: the passed-through answer's text is audited (JSON and stream)", async () => {
  await withProxy(async ({ post, proxy }) => {
    await (await post("/v1beta/models/gemini-2.5-flash:generateContent", HELLO)).text();
    await (await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", {
      contents: [{ role: "user", parts: [{ text: "streamed please" }] }],
    })).text();
    const logs = await (await proxy.fetch("/audit/logs?limit=10", {
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })).json();
    const content = logs.data.filter((e: { kind: string }) => e.kind === "content")
      .map((e: { detail: { prompt: string; response: string } }) => e.detail);
    assert.deepEqual(
      content.map((d: { prompt: string; response: string }) => [d.prompt, d.response]).sort(),
      [
        ["hello world", "Echo from gemini-2.5-flash: hello world"],
        ["streamed please", "Echo from gemini-2.5-flash: streamed please"],
      ],
    );
  }, { LLMPROXY_AUDIT_CONTENT: "true" });
});
