/**
 * The Anthropic Messages stream grammar (SPEC §17.1) as a checker for tests: `message_start` first; every
 * block opened by `content_block_start` before its deltas, indexes from 0 without gaps, a delta type that
 * fits the block, `content_block_stop` once; then `message_delta` and `message_stop` last (or one `error`
 * event that ends the stream). Returns what the events say, so a test can compare it with a JSON answer.
 */
import assert from "node:assert/strict";

/** One event as the SDK yields it (or as parsed from the SSE `data:`). */
export type MessagesEvent = { type: string; index?: number; [k: string]: unknown };

/** What a checked stream said. */
export interface StreamSummary {
  blocks: Record<string, unknown>[];
  stopReason: string | null | undefined;
  usage: Record<string, unknown> | undefined;
  error?: { type: string; message: string };
  /** The `input_json_delta` fragments of each tool block, by index. */
  fragments: Map<number, string[]>;
}

const DELTA_FOR: Record<string, string[]> = {
  text: ["text_delta"],
  thinking: ["thinking_delta", "signature_delta"],
  tool_use: ["input_json_delta"],
};

/** Check `events` against the grammar; assertion errors name the offending event. */
export function checkMessagesGrammar(events: MessagesEvent[]): StreamSummary {
  assert.ok(events.length > 0, "no events");
  assert.equal(events[0].type, "message_start", "the first event is message_start");
  const blocks: Record<string, unknown>[] = [];
  const open = new Set<number>();
  const closed = new Set<number>();
  const fragments = new Map<number, string[]>();
  let stopReason: string | null | undefined;
  let usage: Record<string, unknown> | undefined;
  let delta = false;
  for (const [i, ev] of events.entries()) {
    const at = `event ${i} (${ev.type})`;
    if (i > 0) assert.notEqual(ev.type, "message_start", `${at}: a second message_start`);
    switch (ev.type) {
      case "message_start":
      case "ping":
        break;
      case "content_block_start": {
        assert.equal(ev.index, blocks.length, `${at}: indexes count from 0 without gaps`);
        assert.equal(open.size, 0, `${at}: a block opened while another is open`);
        const block = structuredClone(ev.content_block) as Record<string, unknown>;
        blocks.push(block);
        open.add(ev.index!);
        break;
      }
      case "content_block_delta": {
        assert.ok(open.has(ev.index!), `${at}: a delta for block ${ev.index}, which is not open`);
        const block = blocks[ev.index!];
        const d = ev.delta as Record<string, string>;
        assert.ok(
          DELTA_FOR[block.type as string]?.includes(d.type),
          `${at}: ${d.type} in a ${block.type} block`,
        );
        if (d.type === "text_delta") block.text = String(block.text ?? "") + d.text;
        if (d.type === "thinking_delta") block.thinking = String(block.thinking ?? "") + d.thinking;
        if (d.type === "signature_delta") block.signature = d.signature;
        if (d.type === "input_json_delta") {
          const list = fragments.get(ev.index!) ?? [];
          list.push(d.partial_json);
          fragments.set(ev.index!, list);
        }
        break;
      }
      case "content_block_stop":
        assert.ok(open.has(ev.index!), `${at}: stop for block ${ev.index}, which is not open`);
        open.delete(ev.index!);
        closed.add(ev.index!);
        break;
      case "message_delta":
        assert.equal(open.size, 0, `${at}: message_delta while a block is open`);
        delta = true;
        stopReason = (ev.delta as { stop_reason?: string | null }).stop_reason;
        usage = ev.usage as Record<string, unknown>;
        break;
      case "message_stop":
        assert.ok(delta, `${at}: message_stop before message_delta`);
        assert.equal(i, events.length - 1, `${at}: events after message_stop`);
        break;
      case "error":
        assert.equal(i, events.length - 1, `${at}: events after an error`);
        return {
          blocks,
          stopReason,
          usage,
          error: ev.error as { type: string; message: string },
          fragments,
        };
      default:
        assert.fail(`${at}: unknown event type`);
    }
  }
  assert.equal(events.at(-1)!.type, "message_stop", "the last event is message_stop");
  for (const [index, list] of fragments) blocks[index].input = JSON.parse(list.join(""));
  return { blocks, stopReason, usage, fragments };
}

/** The events of a raw Messages SSE body (`event:` lines checked against the data's `type`). */
export function parseMessagesSse(raw: string): MessagesEvent[] {
  const out: MessagesEvent[] = [];
  for (const block of raw.split(/\n\n/)) {
    if (!block.trim()) continue;
    const name = /^event: (.+)$/m.exec(block)?.[1];
    const data = /^data: (.+)$/m.exec(block)?.[1];
    if (data === undefined) continue;
    const ev = JSON.parse(data) as MessagesEvent;
    assert.equal(name, ev.type, `the event name matches its data's type: ${block}`);
    out.push(ev);
  }
  return out;
}
