import assert from "node:assert/strict";

/** GitHub's anchor for a heading: lower case, punctuation dropped except `-` and `_`, spaces as `-`. */
function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, "").replaceAll(" ", "-");
}

Deno.test("README's contents line links every ## section, in order, by its GitHub anchor", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => anchor(m[1]));
  const start = readme.indexOf("**Contents:**");
  assert.ok(
    start > 0 && start < readme.indexOf("\n## "),
    "a contents line after the intro, before the first section",
  );
  const contents = readme.slice(start, readme.indexOf("\n\n", start));
  const links = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(links, sections);
});
