/**
 * The one list of front ends (SPEC §17): the edge serves every route of each, in this order. A new protocol
 * is a folder under `frontends/` and one line here.
 */
import type { FrontEnd } from "./types.ts";
import { chatFrontEnd } from "./chat/index.ts";
import { responsesFrontEnd } from "./responses/index.ts";
import { geminiFrontEnd } from "./gemini/index.ts";

/** Every front end the proxy serves. */
export const FRONT_ENDS: readonly FrontEnd[] = [
  chatFrontEnd,
  responsesFrontEnd,
  geminiFrontEnd,
];
