import assert from "node:assert/strict";
import {
  forModel,
  isGemini3,
  toGeminiRequest,
  translateRequest,
  TranslationError,
} from "../../src/providers/gemini/request.ts";
import { makeToolCallId, signatureFromToolCallId, SKIP_SIGNATURE } from "../../src/providers/gemini/ids.ts";
import type { ChatRequest } from "../../src/model/request.ts";

const M = "gemini-2.5-flash";
const tr = (body: Record<string, unknown>, model = M) => toGeminiRequest(body as ChatRequest, { model });
const user = (content: unknown) => ({ role: "user", content });

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

const cases: { name: string; body: Record<string, unknown>; model?: string; want: unknown }[] = [
  {
    name: "system and developer messages → systemInstruction, user → user",
    body: {
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        user("Hi"),
      ],
    },
    want: {
      systemInstruction: { parts: [{ text: "You are terse." }, { text: "Answer in French." }] },
      contents: [{ role: "user", parts: [{ text: "Hi" }] }],
    },
  },
  {
    name: "assistant → model, multi-turn order kept",
    body: { messages: [user("a"), { role: "assistant", content: "b" }, user("c")] },
    want: {
      contents: [
        { role: "user", parts: [{ text: "a" }] },
        { role: "model", parts: [{ text: "b" }] },
        { role: "user", parts: [{ text: "c" }] },
      ],
    },
  },
  {
    name: "image parts: data URL → inlineData, http URL → fileData with MIME from extension",
    body: {
      messages: [user([
        { type: "text", text: "What is this?" },
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        { type: "image_url", image_url: { url: "https://example.com/cat.webp", detail: "low" } },
        { type: "image_url", image_url: { url: "https://example.com/photo" } },
      ])],
    },
    want: {
      contents: [{
        role: "user",
        parts: [
          { text: "What is this?" },
          { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
          { fileData: { mimeType: "image/webp", fileUri: "https://example.com/cat.webp" } },
          { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/photo" } },
        ],
      }],
    },
  },
  {
    name: "input_audio and file data → inlineData",
    body: {
      messages: [user([
        { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
        { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
      ])],
    },
    want: {
      contents: [{
        role: "user",
        parts: [
          { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } },
          { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
        ],
      }],
    },
  },
  {
    name: "tools → functionDeclarations with parametersJsonSchema; tool_choice auto → AUTO",
    body: { messages: [user("weather?")], tools: [weatherTool], tool_choice: "auto" },
    want: {
      contents: [{ role: "user", parts: [{ text: "weather?" }] }],
      tools: [{
        functionDeclarations: [{
          name: "get_weather",
          description: "Weather for a city",
          parametersJsonSchema: weatherTool.function.parameters,
        }],
      }],
      toolConfig: { functionCallingConfig: { mode: "AUTO" } },
    },
  },
  {
    name: "tool_choice none → NONE; a function without parameters has no schema",
    body: {
      messages: [user("x")],
      tools: [{ type: "function", function: { name: "now" } }],
      tool_choice: "none",
    },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      tools: [{ functionDeclarations: [{ name: "now" }] }],
      toolConfig: { functionCallingConfig: { mode: "NONE" } },
    },
  },
  {
    name: "tool_choice required → ANY",
    body: { messages: [user("x")], tools: [weatherTool], tool_choice: "required" },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      tools: [{
        functionDeclarations: [{
          name: "get_weather",
          description: "Weather for a city",
          parametersJsonSchema: weatherTool.function.parameters,
        }],
      }],
      toolConfig: { functionCallingConfig: { mode: "ANY" } },
    },
  },
  {
    name: "named tool_choice → ANY + allowedFunctionNames",
    body: {
      messages: [user("x")],
      tools: [weatherTool, { type: "function", function: { name: "now" } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      tools: [{
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Weather for a city",
            parametersJsonSchema: weatherTool.function.parameters,
          },
          { name: "now" },
        ],
      }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } },
    },
  },
  {
    name: "empty tools array sends no tools and no toolConfig",
    body: { messages: [user("x")], tools: [], tool_choice: "auto" },
    want: { contents: [{ role: "user", parts: [{ text: "x" }] }] },
  },
  {
    name: "assistant tool_calls → functionCall (signature from the id); tool messages → one user turn",
    body: {
      messages: [
        user("weather in Paris and Rome?"),
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: makeToolCallId("c2lnLTE="),
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
            {
              id: "call_plain",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_plain", content: "12C rain" },
        { role: "tool", tool_call_id: "PLACEHOLDER", content: '{"temp":18,"sky":"sunny"}' },
      ],
    },
    want: "tool-round-trip",
  },
  {
    name:
      "generationConfig: temperature, top_p, max_completion_tokens over max_tokens, stop, seed, n, penalties",
    body: {
      messages: [user("x")],
      temperature: 0.7,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 1024,
      stop: "END",
      seed: 42,
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
    },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      generationConfig: {
        temperature: 0.7,
        topP: 0.9,
        maxOutputTokens: 1024,
        stopSequences: ["END"],
        candidateCount: 2,
        seed: 42,
        presencePenalty: 0.5,
        frequencyPenalty: 0.25,
      },
    },
  },
  {
    name: "max_tokens alone, stop array, n=1 omitted",
    body: { messages: [user("x")], max_tokens: 77, stop: ["a", "b"], n: 1 },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      generationConfig: { maxOutputTokens: 77, stopSequences: ["a", "b"] },
    },
  },
  {
    name: "response_format json_object → responseMimeType",
    body: { messages: [user("x")], response_format: { type: "json_object" } },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      generationConfig: { responseMimeType: "application/json" },
    },
  },
  {
    name: "response_format json_schema → responseMimeType + responseJsonSchema",
    body: {
      messages: [user("x")],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "r",
          schema: { type: "object", properties: { a: { type: "number" } } },
          strict: true,
        },
      },
    },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      generationConfig: {
        responseMimeType: "application/json",
        responseJsonSchema: { type: "object", properties: { a: { type: "number" } } },
      },
    },
  },
  {
    name: "response_format text, logprobs, reasoning_effort (2.5 budget); user/metadata/store ignored",
    body: {
      messages: [user("x")],
      response_format: { type: "text" },
      logprobs: true,
      top_logprobs: 3,
      reasoning_effort: "none",
      user: "u1",
      metadata: { a: "b" },
      store: true,
    },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      generationConfig: { responseLogprobs: true, logprobs: 3, thinkingConfig: { thinkingBudget: 0 } },
    },
  },
  {
    name: "reasoning_effort on Gemini 3 → thinkingLevel",
    model: "gemini-3-pro-preview",
    body: { messages: [user("x")], reasoning_effort: "high" },
    want: {
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      generationConfig: { thinkingConfig: { thinkingLevel: "high" } },
    },
  },
  {
    name: "Gemini 3: a function-call turn without a known signature gets the sentinel on its first call",
    model: "gemini-3-pro-preview",
    body: {
      messages: [
        user("x"),
        {
          role: "assistant",
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "f", arguments: "{}" } },
            { id: "call_b", type: "function", function: { name: "f", arguments: "" } },
          ],
        },
        { role: "tool", tool_call_id: "call_a", content: "1" },
        { role: "tool", tool_call_id: "call_b", content: "2" },
      ],
    },
    want: {
      contents: [
        { role: "user", parts: [{ text: "x" }] },
        {
          role: "model",
          parts: [
            { functionCall: { name: "f", args: {} }, thoughtSignature: SKIP_SIGNATURE },
            { functionCall: { name: "f", args: {} } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "f", response: { result: "1" } } },
            { functionResponse: { name: "f", response: { result: "2" } } },
          ],
        },
      ],
    },
  },
  {
    name: "empty assistant message is dropped; assistant text + tool call in one model turn",
    body: {
      messages: [
        user("x"),
        { role: "assistant", content: "" },
        {
          role: "assistant",
          content: [{ type: "text", text: "Let me check." }],
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"q":1}' } }],
        },
        { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "done" }] },
        user("thanks"),
      ],
    },
    want: {
      contents: [
        { role: "user", parts: [{ text: "x" }] },
        {
          role: "model",
          parts: [{ text: "Let me check." }, { functionCall: { name: "f", args: { q: 1 } } }],
        },
        { role: "user", parts: [{ functionResponse: { name: "f", response: { result: "done" } } }] },
        { role: "user", parts: [{ text: "thanks" }] },
      ],
    },
  },
];

for (const c of cases) {
  Deno.test(`gemini request: ${c.name}`, () => {
    if (c.want === "tool-round-trip") {
      const body = structuredClone(c.body);
      const msgs = body.messages as Record<string, unknown>[];
      const signedId = (msgs[1].tool_calls as { id: string }[])[0].id;
      msgs[3].tool_call_id = signedId;
      assert.deepEqual(tr(body), {
        contents: [
          { role: "user", parts: [{ text: "weather in Paris and Rome?" }] },
          {
            role: "model",
            parts: [
              {
                functionCall: { name: "get_weather", args: { city: "Paris" } },
                thoughtSignature: "c2lnLTE=",
              },
              { functionCall: { name: "get_weather", args: { city: "Rome" } } },
            ],
          },
          {
            role: "user",
            parts: [
              { functionResponse: { name: "get_weather", response: { result: "12C rain" } } },
              { functionResponse: { name: "get_weather", response: { temp: 18, sky: "sunny" } } },
            ],
          },
        ],
      });
      return;
    }
    assert.deepEqual(tr(c.body, c.model), c.want);
  });
}

const bad: { name: string; body: Record<string, unknown>; message: RegExp; param: string }[] = [
  {
    name: "unsupported content part type",
    body: { messages: [user([{ type: "video_url", video_url: { url: "x" } }])] },
    message: /content part type "video_url" is not supported/,
    param: "messages.0.content.0",
  },
  {
    name: "file part by file_id",
    body: { messages: [user([{ type: "file", file: { file_id: "file-1" } }])] },
    message: /file_id references cannot be sent/,
    param: "messages.0.content.0",
  },
  {
    name: "tool message without a matching call",
    body: {
      messages: [user("x"), { role: "tool", tool_call_id: "call_nope", content: "r" }],
    },
    message: /tool_call_id "call_nope" does not match any tool call/,
    param: "messages.1.tool_call_id",
  },
  {
    name: "empty user message",
    body: { messages: [user("")] },
    message: /user message needs non-empty content/,
    param: "messages.0.content",
  },
  {
    name: "only system messages",
    body: { messages: [{ role: "system", content: "s" }] },
    message: /at least one user or assistant message/,
    param: "messages",
  },
  {
    name: "image in a system message",
    body: {
      messages: [
        { role: "system", content: [{ type: "image_url", image_url: { url: "data:x" } }] },
        user("x"),
      ],
    },
    message: /only text parts are allowed here/,
    param: "messages.0.content",
  },
  {
    name: "non-base64 data URL",
    body: { messages: [user([{ type: "image_url", image_url: { url: "data:text/plain,hello" } }])] },
    message: /only base64 data URLs/,
    param: "messages.0.content.0.image_url",
  },
  {
    name: "tool-call arguments that are not JSON",
    body: {
      messages: [user("x"), {
        role: "assistant",
        tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{oops" } }],
      }],
    },
    message: /arguments are not valid JSON/,
    param: "messages.1.tool_calls.0.function.arguments",
  },
  {
    name: "non-function tool",
    body: { messages: [user("x")], tools: [{ type: "web_search" }] },
    message: /only \{type:"function"/,
    param: "tools.0",
  },
  {
    name: "named tool_choice not in tools",
    body: {
      messages: [user("x")],
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "g" } },
    },
    message: /not in tools/,
    param: "tool_choice",
  },
  {
    name: "unknown response_format",
    body: { messages: [user("x")], response_format: { type: "xml" } },
    message: /response_format.type must be/,
    param: "response_format",
  },
  {
    name: "non-numeric temperature",
    body: { messages: [user("x")], temperature: "hot" },
    message: /temperature must be a number/,
    param: "temperature",
  },
];

for (const b of bad) {
  Deno.test(`gemini request rejects: ${b.name}`, () => {
    assert.throws(() => tr(b.body), (e: unknown) => {
      assert.ok(e instanceof TranslationError);
      assert.match(e.message, b.message);
      assert.equal(e.param, b.param);
      return true;
    });
  });
}

Deno.test("tool-call ids carry the thought signature and nothing else", () => {
  const sig = "CiQBjz1rX+/Y0abc==";
  const id = makeToolCallId(sig);
  assert.match(id, /^call_[0-9a-f]{24}__ts_[A-Za-z0-9_-]+$/);
  assert.equal(signatureFromToolCallId(id), sig);
  assert.match(makeToolCallId(), /^call_[0-9a-f]{24}$/);
  assert.equal(signatureFromToolCallId(makeToolCallId()), undefined);
  assert.equal(signatureFromToolCallId("call_x__ts_!!!"), undefined);
  assert.equal(signatureFromToolCallId(undefined), undefined);
  assert.notEqual(makeToolCallId(), makeToolCallId());
});

Deno.test("isGemini3 tells model generations apart", () => {
  assert.equal(isGemini3("gemini-3-pro-preview"), true);
  assert.equal(isGemini3("gemini-3.0-flash"), true);
  assert.equal(isGemini3("gemini-2.5-flash"), false);
  assert.equal(isGemini3("learnlm-2.0"), false);
});

Deno.test("one translation serves every model: forModel adds Gemini 3's specifics without changing it", () => {
  const body = {
    messages: [
      user("x"),
      { role: "assistant", tool_calls: [{ id: "call_a", type: "function", function: { name: "f" } }] },
      { role: "tool", tool_call_id: "call_a", content: "r" },
    ],
    reasoning_effort: "low",
  } as unknown as ChatRequest;
  const t = translateRequest(body);
  const before = structuredClone(t.request);
  const older = forModel(t, "gemini-2.5-flash");
  assert.equal(older, t.request, "models before Gemini 3 take the translation as it is");
  assert.deepEqual(older.generationConfig, { thinkingConfig: { thinkingBudget: 1024 } });
  const three = forModel(t, "gemini-3-pro-preview");
  assert.deepEqual(three.contents[1].parts, [
    { functionCall: { name: "f", args: {} }, thoughtSignature: SKIP_SIGNATURE },
  ]);
  assert.deepEqual(three.generationConfig, { thinkingConfig: { thinkingLevel: "low" } });
  assert.deepEqual(t.request, before, "the shared translation is never changed");
  assert.deepEqual(forModel(t, "gemini-2.5-pro"), before);
  assert.deepEqual(three, toGeminiRequest(body, { model: "gemini-3-pro-preview" }));
});
