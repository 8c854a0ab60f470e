/**
 * Local replies (SPEC §8.3, §9): a whole answer of the conversation model (`ModelResult`: the front end
 * renders it in its protocol, as JSON or a stream), with a unique id, zero usage and the effective model, shaped for the request (plain text, the XML `attempt_completion`
 * block, or a native `attempt_completion` tool call); and the interactive-mode banner.
 */
import type { ChatRequest } from "../model/request.ts";
import { newStreamMeta, toolCallId } from "../model/ids.ts";
import { type ModelResult, resultChoice } from "../model/result.ts";
import { zeroModelUsage } from "../model/usage.ts";
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

/** The answer of a local reply saying `content`, by `model`, shaped for `body`'s client. */
export function localResult(body: ChatRequest, content: string, model: string): ModelResult {
  const shape = replyShape(body);
  const choice = shape === "tool-call"
    ? resultChoice(0, "tool_calls", {
      toolCalls: [{
        id: toolCallId(),
        name: "attempt_completion",
        arguments: JSON.stringify({ result: content }),
      }],
    })
    : resultChoice(0, "stop", {
      text: shape === "xml"
        ? `<attempt_completion>\n<result>\n${content}\n</result>\n</attempt_completion>`
        : content,
    });
  return { meta: newStreamMeta(model), choices: [choice], usage: zeroModelUsage() };
}
