import assert from "node:assert/strict";
import { textResponse } from "../../src/core/response.ts";

Deno.test("textResponse: the status, the body and exactly the given headers, its content type instead of text/plain", async () => {
  for (const status of [200, 429, 500]) {
    const headers = {
      "content-type": "application/json",
      "x-llmproxy-backend": "openrouter",
      "x-llmproxy-attempts": "2",
    };
    const res = textResponse('{"a":1}', status, headers);
    res.headers.set("x-request-id", "req_1"); // what the edge adds afterwards
    assert.equal(res.status, status);
    assert.deepEqual([...res.headers], [
      ["content-type", "application/json"],
      ["x-llmproxy-attempts", "2"],
      ["x-llmproxy-backend", "openrouter"],
      ["x-request-id", "req_1"],
    ]);
    assert.equal(await res.text(), '{"a":1}');
  }
});
