import assert from "node:assert/strict";
import { getTextFormatter, type LogRecord } from "@logtape/logtape";
import { oneLine, type RequestLine, requestLineFormatter, utcTimestamp } from "../../src/log/log.ts";

/** The request line as LogTape wrote it before the direct path: the tagged template `log.info` of app.ts. */
function throughLogTape(l: RequestLine, value: (v: unknown) => string): string {
  const format = getTextFormatter({ value, timestamp: utcTimestamp });
  const values = [l.requestId, l.method, l.path, l.status, l.backend, l.model, l.key, l.attempts, l.ms];
  const texts = ["", " ", " ", " ", " backend=", " model=", " key=", " attempts=", " ", "ms"];
  const message: unknown[] = [];
  texts.forEach((t, i) => {
    message.push(t);
    if (i < values.length) message.push(values[i]);
  });
  return format({
    category: ["llmproxy"],
    level: "info",
    message,
    rawMessage: "",
    timestamp: l.time,
    properties: {},
  } as unknown as LogRecord);
}

Deno.test("the direct request line is the text LogTape's formatter wrote for the same values", () => {
  // The value function the proxy configures: a stand-in scrubber, then one line, as setupLogging does.
  const value = (v: unknown) =>
    oneLine((typeof v === "string" ? v : JSON.stringify(v) ?? String(v)).replaceAll("sk-secret", "[key]"));
  const direct = requestLineFormatter(value);
  const lines: RequestLine[] = [
    {
      time: 1_764_774_000_990,
      requestId: "req_0123",
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      backend: "openrouter",
      model: "bench",
      key: "OPENROUTER_API_KEY",
      attempts: 1,
      ms: 4,
    },
    {
      time: 0,
      requestId: "req_x",
      method: "GET",
      path: "/v1/models/a\nb\u001b[2Jc sk-secret",
      status: 404,
      backend: "-",
      model: "x\ty",
      key: "-",
      attempts: 0,
      ms: 12345,
    },
  ];
  for (const l of lines) assert.equal(direct(l), throughLogTape(l, value));
});
