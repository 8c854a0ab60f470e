/**
 * Local replies (SPEC §8.3, §9): a `chat.completion` (the front end renders it, as JSON or a stream), with a
 * unique id, zero usage and the effective model, shaped for the request (plain text, the XML `attempt_completion`
 * block, or a native `attempt_completion` tool call); and the interactive-mode banner.
 */
import type { ChatRequest } from "../openai/types.ts";
import { completion, completionChoice, zeroUsage } from "../openai/build.ts";
import { newStreamMeta, toolCallId } from "../model/ids.ts";
import type { CommandContext } from "./context.ts";
import { replyShape } from "../sessions/agents.ts";
import { NAME, VERSION } from "../core/version.ts";

/** The banner lines: name and version, session id, functional backends with counts, how to get help. */
export function bannerLines(
  ctx: Pick<CommandContext, "registry">,
  sessionId: string,
  prefix: string,
): string[] {
  const health = ctx.registry.health();
  const backends = Object.entries(health).filter(([, h]) => h.functional).map(([name, h]) =>
    `${name} (${h.keys} key${h.keys === 1 ? "" : "s"}, ${
      h.models === null ? "models not listed yet" : `${h.models} model${h.models === 1 ? "" : "s"}`
    })`
  );
  return [
    `${NAME} ${VERSION}`,
    `Session: ${sessionId}`,
    `Functional backends: ${backends.length ? backends.join(", ") : "none"}`,
    `Type ${prefix}help for the list of commands.`,
  ];
}

/** The `chat.completion` body of a local reply. */
export function localCompletion(body: ChatRequest, content: string, model: string): Record<string, unknown> {
  const shape = replyShape(body);
  const message = shape === "tool-call"
    ? {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: toolCallId(),
        type: "function",
        function: { name: "attempt_completion", arguments: JSON.stringify({ result: content }) },
      }],
    }
    : {
      role: "assistant",
      content: shape === "xml"
        ? `<attempt_completion>\n<result>\n${content}\n</result>\n</attempt_completion>`
        : content,
      refusal: null,
    };
  const finish = shape === "tool-call" ? "tool_calls" : "stop";
  return completion(newStreamMeta(model), [completionChoice(0, message, finish)], { usage: zeroUsage() });
}
