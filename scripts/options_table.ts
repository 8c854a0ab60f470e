/** Prints README's tables generated from the source: backends (src/backends/providers.ts), then options. */
import { markdownBackendTable, markdownOptionTable } from "../src/config/help.ts";
import { PROVIDERS } from "../src/backends/providers.ts";

// deno-lint-ignore no-console
console.log(markdownBackendTable(PROVIDERS) + "\n\n" + markdownOptionTable(PROVIDERS));
