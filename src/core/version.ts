/** The program's name and version: the one place they are written (deno.json's "version" is checked against it in tests). */
export const NAME = "llmproxy";
/** Semantic version printed by `--version`, `/health` and the banner. */
export const VERSION = "0.1.0";
