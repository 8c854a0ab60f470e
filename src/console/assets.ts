/**
 * The console's files, embedded in the program as text imports (so `deno compile` carries them and nothing is
 * fetched at run time: no CDN). uPlot comes from its npm package, pinned in deno.json.
 */
import page from "./page.html" with { type: "text" };
import css from "./console.css" with { type: "text" };
import js from "./console.js" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

/** An embedded file: its body and content type. */
export interface Asset {
  body: string;
  type: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** The files under `/ui/assets/`, by name. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["console.js", { body: js, type: JS }],
  ["console.css", { body: css, type: CSS }],
  ["uPlot.iife.min.js", { body: uplotJs, type: JS }],
  ["uPlot.min.css", { body: uplotCss, type: CSS }],
]);

/** The page, telling its script whether the proxy asks for a key (`auth`). */
export function pageHtml(auth: boolean): string {
  return page.replace("__AUTH__", auth ? "on" : "off");
}
