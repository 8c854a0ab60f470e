/** What every mock upstream records of a request: URL, headers as a plain record, and the JSON body if any. */

/** A request read once: its URL, headers and body (parsed when it is JSON). */
export interface ReadRequest<B> {
  url: URL;
  headers: Record<string, string>;
  text: string;
  body: B | undefined;
}

/** Read a request for recording. */
export async function readRequest<B = Record<string, unknown>>(req: Request): Promise<ReadRequest<B>> {
  const url = new URL(req.url);
  const text = req.method === "POST" ? await req.text() : "";
  let body: B | undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => (headers[k] = v));
  return { url, headers, text, body };
}
