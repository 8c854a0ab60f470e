/**
 * The allowed direction of imports between the folders of `src/` (ARCHITECTURE.md "Direction of imports",
 * adapted to today's folder names; src/README.md explains each folder). The one place this order is
 * written: tests/unit/architecture_test.ts reads it and fails on an import that goes against it.
 *
 * Top to bottom: a folder may import only folders on a LOWER line. Folders on the same line are peers and do
 * not import each other. "main" stands for the files directly in `src/` (main.ts). Nothing imports this
 * module at run time.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["main"], // start-up and wiring
  ["isolates"], // --workers: the worker isolates, and what they share at once (key states, changes, metrics)
  ["server"], // the HTTP edge: accept loop, route table, auth
  ["frontends", "console"], // one folder per client protocol; the operator console's page and data (/ui)
  ["pipeline"], // one request, step by step, whatever its protocol
  ["commands"], // in-chat commands
  ["sessions", "routing"], // sessions; targets, the planner and executor (dispatch)
  ["providers"], // one folder per upstream (its spec, translation, failure rules) and the one provider list
  ["runner"], // what every provider uses to make an attempt: HTTP client, watchdog, commit rule, spec types
  ["usage", "telemetry"], // telemetry: usage records, command audit, queries; Prometheus metrics
  ["store"], // state in Deno KV: settings, routes, key states
  ["state"], // state in memory: key pools, their cool-downs and recovery gate; failover routes
  ["config"], // options, config file, help
  ["log"], // logging (telemetry that config and state need)
  ["security"], // secret patterns, scrubbing, redaction
  ["model"], // the conversation model: its request, typed events and their meta, results, usage, ids, Chat SSE → events
  ["openai"], // the Chat Completions wire format: SSE, chunk and completion builders
  ["core"], // values and pure helpers: errors, caller, version, … — imports nothing of ours
];
