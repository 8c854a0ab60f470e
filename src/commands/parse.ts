/**
 * In-chat command grammar (SPEC §8.1–8.2), pure: find `PREFIX name` / `PREFIX name(args)` tokens in text,
 * parse their arguments, and return the text with exactly those tokens removed (nothing else rewritten).
 */

/** One argument: `key=value` (key set) or a bare value. */
export interface CommandArg {
  key?: string;
  value: string;
}

/** A command token found in text. */
export interface ParsedCommand {
  name: string;
  args: CommandArg[];
  /** Offsets of the token in the scanned text (`end` exclusive). */
  start: number;
  end: number;
  /** Set for an unknown name followed by `(` or a malformed argument list. */
  error?: string;
}

/** The result of scanning one text. */
export interface ParseResult {
  commands: ParsedCommand[];
  /** The text with every command token removed, everything else byte for byte. */
  text: string;
}

const NAME = /[a-z][a-z0-9-]*/y;
const WS = /\s/;

/**
 * Scan `text` for commands. A known name followed by `(`, whitespace or the end is a command; an unknown
 * name followed by `(` is a command with an `error`; anything else is plain text. Never throws.
 */
export function parseCommands(text: string, prefix: string, isKnown: (name: string) => boolean): ParseResult {
  const commands: ParsedCommand[] = [];
  if (!prefix) return { commands, text };
  let from = 0;
  for (;;) {
    const at = text.indexOf(prefix, from);
    if (at === -1) break;
    const nameStart = at + prefix.length;
    NAME.lastIndex = nameStart;
    const m = NAME.exec(text);
    if (!m) {
      from = at + 1;
      continue;
    }
    const name = m[0];
    const after = nameStart + name.length;
    const next = text[after];
    let cmd: ParsedCommand;
    if (next === "(") {
      const r = parseArgs(text, after + 1);
      cmd = { name, args: r.args, start: at, end: r.end };
      if (!isKnown(name)) cmd.error = `unknown command "${prefix}${name}"`;
      else if (r.error) cmd.error = r.error;
    } else if ((next === undefined || WS.test(next)) && isKnown(name)) {
      cmd = { name, args: [], start: at, end: after };
    } else {
      from = at + 1;
      continue;
    }
    commands.push(cmd);
    from = cmd.end;
  }
  if (!commands.length) return { commands, text };
  let out = "";
  let last = 0;
  for (const c of commands) {
    out += text.slice(last, c.start);
    last = c.end;
  }
  return { commands, text: out + text.slice(last) };
}

interface ArgsResult {
  args: CommandArg[];
  /** Index just past the closing `)`, or the end of the text when it is missing. */
  end: number;
  error?: string;
}

/** Parse `key=value, bare, key="quoted, \"text\""` up to the closing `)`, starting after the `(`. */
function parseArgs(text: string, start: number): ArgsResult {
  const args: CommandArg[] = [];
  let i = start;
  const n = text.length;
  const skipWs = () => {
    while (i < n && WS.test(text[i])) i++;
  };
  /** Read a quoted string at i (text[i] is the quote); undefined when unclosed. */
  const quoted = (): string | undefined => {
    const q = text[i++];
    let s = "";
    while (i < n) {
      const c = text[i];
      if (c === "\\" && i + 1 < n) {
        s += text[i + 1];
        i += 2;
      } else if (c === q) {
        i++;
        return s;
      } else {
        s += c;
        i++;
      }
    }
    return undefined;
  };
  /** Read unquoted text up to one of `stops`, trimmed. */
  const plain = (stops: string): string => {
    const from = i;
    while (i < n && !stops.includes(text[i])) i++;
    return text.slice(from, i).trim();
  };
  const fail = (error: string): ArgsResult => ({ args, end: n, error });
  /** After a value: whitespace, then `,` (more) or `)` (done). */
  const close = (): "more" | "done" | "bad" => {
    skipWs();
    if (text[i] === ",") {
      i++;
      return "more";
    }
    if (text[i] === ")") {
      i++;
      return "done";
    }
    return "bad";
  };

  for (;;) {
    skipWs();
    if (i >= n) return fail("missing ')' at the end of the command");
    let first: string | undefined;
    let firstQuoted = false;
    if (text[i] === '"' || text[i] === "'") {
      first = quoted();
      if (first === undefined) return fail("unclosed quote in the command arguments");
      firstQuoted = true;
      skipWs();
    } else {
      first = plain("=,)");
    }
    if (i >= n) return fail("missing ')' at the end of the command");
    if (text[i] === "=") {
      i++;
      if (!first) return fail("an argument has '=' but no name before it");
      skipWs();
      let value: string;
      if (text[i] === '"' || text[i] === "'") {
        const v = quoted();
        if (v === undefined) return fail("unclosed quote in the command arguments");
        value = v;
      } else {
        value = plain(",)");
      }
      args.push({ key: first, value });
    } else if (first !== "" || firstQuoted) {
      args.push({ value: first });
    }
    const next = close();
    if (next === "done") return { args, end: i };
    if (next === "bad") {
      return i >= n
        ? fail("missing ')' at the end of the command")
        : fail("unexpected text after a quoted value (put it inside the quotes)");
    }
  }
}

/** Write a command back as text (quoting every value); parsing the result gives the command again. */
export function renderCommand(prefix: string, name: string, args: CommandArg[], bare = false): string {
  if (bare && args.length === 0) return `${prefix}${name}`;
  const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `${prefix}${name}(${args.map((a) => (a.key ? `${a.key}=${q(a.value)}` : q(a.value))).join(", ")})`;
}
