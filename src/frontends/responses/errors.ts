/**
 * The Responses error shape (SPEC §17.2: "Errors use the §13 shape"), which is OpenAI's
 * `{"error":{message,type,param,code}}` — the Chat front end's, so it is the same function.
 */
export { errorResponse } from "../chat/errors.ts";
