/** Prints README's tables generated from the source: backends (src/config/providers.ts), then options. */
import { markdownBackendTable, markdownOptionTable } from "../src/config/help.ts";

// deno-lint-ignore no-console
console.log(markdownBackendTable() + "\n\n" + markdownOptionTable());
