/** Prints README's option table, generated from the option table in src/config/options.ts. */
import { markdownOptionTable } from "../src/config/help.ts";

// deno-lint-ignore no-console
console.log(markdownOptionTable());
