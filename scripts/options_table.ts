/** Prints README's tables generated from the source: backends (src/providers/list.ts), then options. */
import { markdownBackendTable, markdownOptionTable } from "../src/config/help.ts";
import { PROVIDERS } from "../src/providers/list.ts";

// deno-lint-ignore no-console
console.log(markdownBackendTable(PROVIDERS) + "\n\n" + markdownOptionTable(PROVIDERS));
