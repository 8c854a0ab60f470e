/**
 * Reading a whole body as text under a byte limit, counting bytes as they arrive: what the request body
 * (`--max-body-mb`) and upstream answers (`--max-upstream-body-mb`) both need when no trustworthy length
 * was declared. Over the limit, the read is cancelled at once and nothing more is buffered.
 */

/** The body as UTF-8 text, or `undefined` (the stream cancelled) as soon as it passes `max` bytes. */
export async function readCappedText(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<string | undefined> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    parts.push(value);
  }
  if (parts.length === 1) return new TextDecoder().decode(parts[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}
