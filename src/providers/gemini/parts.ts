/**
 * OpenAI message content → Gemini parts (text, inline data, file URIs), and the error for anything the
 * gemini backend cannot express. Pure.
 */
import type { Message } from "../../model/request.ts";
import type { GeminiPart } from "./types.ts";

/** A request the Gemini backend cannot express; the client gets a 400 with this message. */
export class TranslationError extends Error {
  override name = "TranslationError";
  constructor(message: string, readonly param: string | null = null) {
    super(message);
  }
}

/** A plain JSON object. */
export type Obj = Record<string, unknown>;

/** True for a plain (non-array) object. */
export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const EXT_MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf",
  mp3: "audio/mp3",
  wav: "audio/wav",
  mp4: "video/mp4",
};

/** MIME type for an http(s) URL from its file extension (images default to JPEG). */
function mimeFromUrl(url: URL): string {
  const ext = /\.([a-z0-9]+)$/i.exec(url.pathname)?.[1]?.toLowerCase();
  return (ext && EXT_MIME[ext]) || "image/jpeg";
}

/** A `data:` or http(s) URL as a Gemini part. */
function urlPart(url: unknown, where: string): GeminiPart {
  if (typeof url !== "string" || !url) throw new TranslationError(`${where}: the URL is missing.`, where);
  if (url.startsWith("data:")) {
    const m = /^data:([^;,]+)((?:;[^;,]*)*);base64,(.*)$/s.exec(url);
    if (!m) {
      throw new TranslationError(
        `${where}: only base64 data URLs (data:<mime>;base64,<data>) can be sent to Gemini.`,
        where,
      );
    }
    return { inlineData: { mimeType: m[1], data: m[3] } };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TranslationError(`${where}: "${url.slice(0, 80)}" is not a URL.`, where);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TranslationError(`${where}: only data: and http(s) URLs are supported.`, where);
  }
  return { fileData: { mimeType: mimeFromUrl(parsed), fileUri: url } };
}

const AUDIO_MIME: Record<string, string> = { wav: "audio/wav", mp3: "audio/mp3" };

/** One OpenAI content part as a Gemini part. */
function contentPart(p: unknown, where: string): GeminiPart {
  if (!isObj(p)) throw new TranslationError(`${where}: a content part must be an object.`, where);
  switch (p.type) {
    case "text":
      if (typeof p.text !== "string") throw new TranslationError(`${where}: text part without text.`, where);
      return { text: p.text };
    case "image_url": {
      const iu = p.image_url;
      return urlPart(isObj(iu) ? iu.url : iu, `${where}.image_url`);
    }
    case "input_audio": {
      const a = isObj(p.input_audio) ? p.input_audio : {};
      const mime = typeof a.format === "string" ? AUDIO_MIME[a.format] : undefined;
      if (typeof a.data !== "string" || !mime) {
        throw new TranslationError(`${where}: input_audio needs base64 data and format wav or mp3.`, where);
      }
      return { inlineData: { mimeType: mime, data: a.data } };
    }
    case "file": {
      const f = isObj(p.file) ? p.file : {};
      if (typeof f.file_data === "string") {
        const data = f.file_data.startsWith("data:")
          ? f.file_data
          : `data:${mimeFromName(f.filename)};base64,${f.file_data}`;
        return urlPart(data, `${where}.file.file_data`);
      }
      throw new TranslationError(
        `${where}: file parts must carry file_data; uploaded file_id references cannot be sent to Gemini.`,
        where,
      );
    }
    default:
      throw new TranslationError(
        `${where}: content part type ${
          JSON.stringify(p.type)
        } is not supported by the gemini backend (supported: text, image_url, input_audio, file).`,
        where,
      );
  }
}

function mimeFromName(name: unknown): string {
  const ext = typeof name === "string" ? /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() : undefined;
  return (ext && EXT_MIME[ext]) || "application/pdf";
}

/** A message's content as Gemini parts (empty text dropped). */
export function contentParts(content: Message["content"], where: string): GeminiPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  return content.map((p, i) => contentPart(p, `${where}.content.${i}`)).filter((p) => p.text !== "");
}

/** Text only (system, developer and tool messages). */
export function textOnly(content: Message["content"], where: string): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content.map((p, i) => {
    if (p.type !== "text" || typeof p.text !== "string") {
      throw new TranslationError(
        `${where}.content.${i}: only text parts are allowed here (got ${JSON.stringify(p.type)}).`,
        `${where}.content`,
      );
    }
    return p.text;
  }).join("\n");
}

/** An assistant message's text and refusal parts as Gemini text parts. */
export function assistantParts(content: Message["content"], where: string): GeminiPart[] {
  if (content === undefined || content === null || content === "") return [];
  if (typeof content === "string") return [{ text: content }];
  return content.map((p, i): GeminiPart => {
    const text = p.type === "text"
      ? p.text
      : p.type === "refusal"
      ? (p as { refusal?: unknown }).refusal
      : undefined;
    if (typeof text !== "string") {
      throw new TranslationError(
        `${where}.content.${i}: assistant messages may only contain text (got ${JSON.stringify(p.type)}).`,
        `${where}.content`,
      );
    }
    return { text };
  }).filter((p) => p.text !== "");
}
