/**
 * `llmproxy usage [--since 24h] [--until T] [--by model] [--data-dir DIR] [--kv PATH]`: prints the usage
 * roll-ups as an aligned table. Safe while a server uses the same store (KV handles several processes).
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../config/errors.ts";
import { defaultDataDir } from "../config/load.ts";
import { kvLocation, openStore } from "../store/kv.ts";
import { GROUP_BY, type GroupBy, parseTime, statsTable, usageStats } from "./query.ts";

/** Help text of the sub-command. */
export const USAGE_HELP = `llmproxy usage — usage statistics from the store

  llmproxy usage [--since 24h] [--until TIME] [--by ${GROUP_BY.join("|")}] [--data-dir DIR] [--kv PATH]

  --since TIME    start of the period: 30m, 24h, 7d, an ISO date or ms since the epoch (default 24h)
  --until TIME    end of the period (default now)
  --by DIM        group rows by ${GROUP_BY.join(", ")} (default model)
  --data-dir DIR  the proxy's data dir (default LLMPROXY_DATA_DIR or the user data dir)
  --kv PATH       the store file or URL (default <data-dir>/llmproxy.kv)
Statistics come from hourly roll-ups: the period starts at the hour containing --since.`;

/** Run the sub-command; returns the text to print. Bad arguments are ConfigErrors (exit 2). */
export async function usageCommand(args: string[], env: Record<string, string>): Promise<string> {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        since: { type: "string", default: "24h" },
        until: { type: "string" },
        by: { type: "string", default: "model" },
        "data-dir": { type: "string" },
        kv: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new ConfigError(`usage: ${(e as Error).message.split("\n")[0]} (see llmproxy usage --help)`);
  }
  if (values.help) return USAGE_HELP;
  const now = Date.now();
  const since = parseTime(values.since!, now);
  if (since === undefined) throw new ConfigError(`usage --since: not a time: ${values.since}`);
  const until = values.until === undefined ? now : parseTime(values.until, now);
  if (until === undefined) throw new ConfigError(`usage --until: not a time: ${values.until}`);
  const by = values.by as GroupBy;
  if (!GROUP_BY.includes(by)) throw new ConfigError(`usage --by: one of ${GROUP_BY.join(", ")}`);
  const dataDir = values["data-dir"] ?? env.LLMPROXY_DATA_DIR ?? defaultDataDir(env);
  const kvPath = values.kv ?? env.LLMPROXY_KV;
  const where = kvLocation(kvPath, dataDir);
  if (where !== ":memory:" && !/^https?:/.test(where)) {
    try {
      await Deno.stat(where);
    } catch {
      throw new ConfigError(`usage: no store at ${where} (start the proxy first, or pass --data-dir / --kv)`);
    }
  }
  const kv = await openStore(kvPath, dataDir);
  try {
    const rows = await usageStats(kv, since, until, by);
    const period = `${new Date(since).toISOString()} → ${new Date(until).toISOString()}`;
    return `usage by ${by}, ${period} (${where})\n${statsTable(rows, by)}`;
  } finally {
    kv.close();
  }
}
