/**
 * `--help` text and README's option and backend tables, generated from the option table and a provider list
 * (the built-in one is `providers/list.ts`).
 */
import { CLIENT_KEY_ENV, configKey, envNames, type OptionSpec, optionTable } from "./options.ts";
import { keyPoolText, type ProviderConfig } from "./providers.ts";
import { NAME, VERSION } from "../core/version.ts";

function defaultText(o: OptionSpec): string {
  if (o.kind === "bool") return "";
  const d = o.default;
  if (d === undefined) return "";
  if (Array.isArray(d)) return d.length ? d.join(",") : "";
  return String(d);
}

function flagText(o: OptionSpec): string {
  return `--${o.flag}${o.kind === "bool" ? "" : ` ${o.arg ?? "VALUE"}`}`;
}

function envText(o: OptionSpec): string {
  const names = envNames(o);
  if (!names.length) return "";
  // "(inverted)": VAR=true does the opposite of the flag (REDACT_API_KEYS_IN_PROMPTS vs --disable-redact-…).
  const envSets = !o.envInverted;
  return o.kind === "bool" && envSets !== (o.flagSets ?? true) ? `${names[0]} (inverted)` : names[0];
}

/** The full `--help` text for the providers of `providers`. */
export function helpText(providers: readonly ProviderConfig[]): string {
  const rows = optionTable(providers).map((o) => {
    const d = defaultText(o);
    const env = envText(o);
    const extra = [d ? `default ${d}` : "", env ? `env ${env}` : ""].filter(Boolean).join("; ");
    return `  ${flagText(o).padEnd(44)} ${o.help}${extra ? ` [${extra}]` : ""}`;
  });
  return [
    `${NAME} ${VERSION} — OpenAI-compatible proxy for ${
      providers.map((p) => p.title).join(", ")
    } and any OpenAI-compatible upstream`,
    "",
    "Usage:",
    `  ${NAME} [flags]                 run the proxy`,
    `  ${NAME} usage [--since 24h] [--by model|backend|key|project|session|user|day] [--data-dir DIR] [--kv PATH]`,
    "                                   print usage statistics from the store",
    "",
    "Flags:",
    ...rows,
    `  ${"-h, --help".padEnd(44)} Print this help and exit.`,
    `  ${"-v, --version".padEnd(44)} Print the version and exit.`,
    "",
    "Keys (environment or .env; real environment wins over .env):",
    ...providers.flatMap((p) =>
      p.keyEnv ? [`  ${keyPoolText(p.keyEnv).padEnd(45)}    ${p.title} key pool`] : []
    ),
    `  ${CLIENT_KEY_ENV} or ${CLIENT_KEY_ENV}_1..N   client keys (Authorization: Bearer, x-api-key, x-goog-api-key)`,
    "",
    "Upstream through an HTTP proxy: HTTPS_PROXY, HTTP_PROXY or ALL_PROXY (and NO_PROXY), real environment only.",
    "Private CA for an upstream: DENO_CERT=ca.pem or NODE_EXTRA_CA_CERTS=ca.pem, or DENO_TLS_CA_STORE=system.",
    "",
    "Precedence: flag > environment > --config file > default. Booleans: true/false/1/0/yes/no/on/off.",
    "Endpoints: POST /v1/chat/completions (OpenAI Chat), POST /v1/messages and /v1/messages/count_tokens",
    "           (Anthropic Messages), POST /v1/responses, GET|DELETE /v1/responses/{id} (OpenAI Responses),",
    "           POST /v1beta/models/{model}:generateContent|:streamGenerateContent|:countTokens, GET /v1beta/models",
    "           (Gemini), GET /v1/models, GET /v1/models/{id}, GET /health, GET /, GET /ui (console);",
    "           admin keys: GET /usage/stats, /usage/recent, /audit/logs, /metrics, /ui/api/state.",
    "deno task dev sets LLMPROXY_WATCH=1: a stop signal then also ends the file watcher.",
    "Bad configuration exits with code 2.",
  ].join("\n");
}

/** README's option table as Markdown (a test checks README.md contains exactly this). */
export function markdownOptionTable(providers: readonly ProviderConfig[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    "| flag | environment | config file key | default | meaning |",
    "|---|---|---|---|---|",
  ];
  for (const o of optionTable(providers)) {
    const key = configKey(o);
    const d = defaultText(o) || (o.kind === "bool" ? "off" : "—");
    lines.push(
      `| \`${esc(flagText(o))}\` | ${envText(o) ? `\`${esc(envText(o))}\`` : "—"} | ${
        key ? `\`${key}\`` : "—"
      } | ${esc(d)} | ${esc(o.help)} |`,
    );
  }
  return lines.join("\n");
}

/** README's backend table as Markdown: one row per provider, then config-file backends (a test checks it). */
export function markdownBackendTable(providers: readonly ProviderConfig[]): string {
  const lines = [
    "| backend | needs | model names |",
    "|---|---|---|",
  ];
  for (const p of providers) {
    const needs = p.keyEnv ? `\`${p.keyEnv}\` or \`${p.keyEnv}_1..N\`` : p.needs!.readme;
    const see = p.example.see ? ` (see ${p.example.see})` : "";
    lines.push(`| \`${p.name}\` | ${needs} | \`${p.name}:${p.example.model}\`${see} |`);
  }
  lines.push("| extra OpenAI-compatible backends | `backends` in the `--config` file | `<name>:<model>` |");
  return lines.join("\n");
}
