/**
 * A client of a process's V8 inspector (`--inspect`, `--inspect-wait`) for the bench's heap tools: connect to
 * its first target (waiting up to 10 s for it to appear), then call protocol methods and get their results.
 */

/** A connected inspector session. */
export interface Inspector {
  /** Call a protocol method; resolves with its result. */
  call(method: string, params?: unknown): Promise<unknown>;
  /** Call a method without waiting for its answer (`Runtime.runIfWaitingForDebugger`, which answers late). */
  send(method: string, params?: unknown): void;
  close(): void;
}

/** Connect to the inspector listening on `port` (127.0.0.1). */
export async function connectInspector(port: number): Promise<Inspector> {
  let targets: { webSocketDebuggerUrl: string }[] = [];
  for (let i = 0; i < 200 && !targets.length; i++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch { /* not listening yet */ }
    if (!targets.length) await new Promise((r) => setTimeout(r, 50));
  }
  if (!targets.length) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data) as { id?: number; result?: unknown };
    if (m.id === undefined) return;
    waiting.get(m.id)?.(m.result);
    waiting.delete(m.id);
  };
  const send = (method: string, params: unknown = {}) =>
    ws.send(JSON.stringify({ id: ++id, method, params }));
  return {
    call: (method, params = {}) =>
      new Promise<unknown>((resolve) => {
        waiting.set(id + 1, resolve);
        send(method, params);
      }),
    send,
    close: () => ws.close(),
  };
}

/** A frame of a V8 CPU or heap profile (the fields the bench reads). */
export interface ProfileFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** `name file:line` of a profile frame, the file relative to the checkout, the runtime's or node_modules. */
export function frameName(cf: ProfileFrame): string {
  const url = cf.url.replace(/^.*\/(src|scripts|node_modules)\//, "$1/");
  return `${cf.functionName || "(anonymous)"} ${url || "(native)"}:${cf.lineNumber + 1}`;
}
