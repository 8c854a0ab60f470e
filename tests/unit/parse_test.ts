import assert from "node:assert/strict";
import fc from "fast-check";
import { type CommandArg, parseCommands, renderCommand } from "../../src/commands/parse.ts";

const KNOWN = new Set(["help", "hello", "set", "unset", "status", "route-append", "list-failover-routes"]);
const isKnown = (n: string) => KNOWN.has(n);
const parse = (t: string, p = "!/") => parseCommands(t, p, isKnown);

Deno.test("a known name followed by (, whitespace or the end is a command; the rest is plain text", () => {
  assert.deepEqual(parse("!/hello").commands.map((c) => c.name), ["hello"]);
  assert.deepEqual(parse("!/hello world").commands.map((c) => c.name), ["hello"]);
  assert.equal(parse("!/hello world").text, " world");
  assert.deepEqual(parse("!/help(set)").commands[0].args, [{ value: "set" }]);
  assert.deepEqual(parse("!/list-failover-routes\n").commands.map((c) => c.name), ["list-failover-routes"]);
  for (
    const plain of ["!/usr/bin", "!/foo bar", "!/hello.", "!/helloworld", "!/HELP", "!/ hello", "!/", "!/set"]
  ) {
    const r = parse(plain);
    if (plain === "!/set") {
      assert.equal(r.commands.length, 1, "known name at the end of text");
      continue;
    }
    assert.deepEqual(r.commands, [], plain);
    assert.equal(r.text, plain);
  }
});

Deno.test("an unknown name followed by ( is a command error and is removed", () => {
  const r = parse("a !/frobnicate(x=1) b");
  assert.equal(r.commands.length, 1);
  assert.match(r.commands[0].error!, /unknown command "!\/frobnicate"/);
  assert.equal(r.text, "a  b");
});

Deno.test("arguments: key=value, bare values, quotes with , ) = and escapes, whitespace trimmed", () => {
  const r = parse(
    `!/set( model = openrouter:a/b:free , project="x, y) = z", 'it\\'s', bare, q="a\\"b\\\\c" )`,
  );
  assert.equal(r.commands[0].error, undefined);
  assert.deepEqual(r.commands[0].args, [
    { key: "model", value: "openrouter:a/b:free" },
    { key: "project", value: "x, y) = z" },
    { value: "it's" },
    { value: "bare" },
    { key: "q", value: 'a"b\\c' },
  ]);
  assert.equal(r.text, "");
  assert.deepEqual(parse("!/set(x=a=b)").commands[0].args, [{ key: "x", value: "a=b" }]);
  assert.deepEqual(parse("!/set()").commands[0].args, []);
  assert.deepEqual(parse("!/set(a,,b,)").commands[0].args, [{ value: "a" }, { value: "b" }]);
  assert.deepEqual(parse("!/set(project=it's mine)").commands[0].args, [{
    key: "project",
    value: "it's mine",
  }]);
  assert.deepEqual(parse("!/set(a=1,\n b=2)").commands[0].args, [{ key: "a", value: "1" }, {
    key: "b",
    value: "2",
  }]);
});

Deno.test("malformed argument lists are command errors, never exceptions", () => {
  assert.match(parse("!/set(model=x").commands[0].error!, /missing '\)'/);
  assert.match(parse('!/set(model="x)').commands[0].error!, /unclosed quote/);
  assert.match(parse('!/set(model="x" y)').commands[0].error!, /after a quoted value/);
  assert.match(parse("!/set(=x)").commands[0].error!, /no name/);
});

Deno.test("several commands are all found, left to right, and only their tokens are removed", () => {
  const text =
    "Line1\n!/set(model=openrouter:x)\n<task>\n# heading\n  !/hello\tkeep   spaces\n!/unset(model)";
  const r = parse(text);
  assert.deepEqual(r.commands.map((c) => c.name), ["set", "hello", "unset"]);
  assert.equal(r.text, "Line1\n\n<task>\n# heading\n  \tkeep   spaces\n");
});

Deno.test("a quoted value can contain the prefix and is not scanned again", () => {
  const r = parse('!/set(project="!/hello") !/hello');
  assert.deepEqual(r.commands.map((c) => c.name), ["set", "hello"]);
  assert.deepEqual(r.commands[0].args, [{ key: "project", value: "!/hello" }]);
});

Deno.test("other prefixes are matched literally", () => {
  assert.deepEqual(parse("$$x ?/help ?/hello", "?/").commands.map((c) => c.name), ["help", "hello"]);
  assert.deepEqual(parse("!/hello", "?/").commands, []);
  assert.deepEqual(parse("a.*hello", ".*").commands.map((c) => c.name), ["hello"]);
});

// ---- properties ----

const prefixArb = fc.constantFrom("!/", "?/", "$$/", ":;", ".*", "#!", "\\cmd:");
const nameArb = fc.constantFrom(...KNOWN);
const valueArb = fc.string({
  unit: fc.constantFrom("a", "b", " ", ",", ")", "(", "=", '"', "'", "\\", "\n", "é", "!", "/"),
});
const argArb: fc.Arbitrary<CommandArg> = fc.record({
  key: fc.option(fc.stringMatching(/^[a-z][a-z-]{0,8}$/), { nil: undefined }),
  value: valueArb,
}).map((a) => (a.key === undefined ? { value: a.value } : { key: a.key, value: a.value }));

Deno.test("property: parsing never throws, on any text and prefix", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), prefixArb, (text, prefix) => {
      const r = parse(text, prefix);
      assert.equal(typeof r.text, "string");
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(fc.constantFrom("!/", "!/set(", "!/hello", "(", ")", '"', "'", "\\", ",", "=", " ", "x")),
        {
          maxLength: 40,
        },
      ),
      (pieces) => {
        parse(pieces.join(""));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("property: text without the prefix comes back unchanged, with no commands", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), prefixArb, (text, prefix) => {
      fc.pre(!text.includes(prefix));
      const r = parse(text, prefix);
      assert.equal(r.text, text);
      assert.deepEqual(r.commands, []);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("property: removing commands then re-inserting them round-trips (text and commands)", () => {
  const plainArb = (prefix: string) =>
    fc.string({
      maxLength: 30,
      unit: fc.constantFrom("a", " ", "\n", "<", ">", "#", "(", ")", "é", "!", "/", "\t"),
    })
      .filter((s) => !s.includes(prefix));
  const cmdArb = fc.record({ name: nameArb, args: fc.array(argArb, { maxLength: 4 }), bare: fc.boolean() });
  fc.assert(
    fc.property(
      prefixArb.chain((prefix) =>
        fc.tuple(
          fc.constant(prefix),
          plainArb(prefix),
          fc.array(fc.tuple(cmdArb, plainArb(prefix)), { maxLength: 5 }),
        )
      ),
      ([prefix, head, rest]) => {
        let text = head;
        let expected = head;
        for (const [c, plain] of rest) {
          const bare = c.bare && c.args.length === 0;
          // A bare command must be followed by whitespace or the end; give the plain text a leading space.
          const after = bare && !/^\s/.test(plain) ? ` ${plain}` : plain;
          text += renderCommand(prefix, c.name, c.args, bare) + after;
          expected += after;
        }
        // Plain text glued to a prefix could form a new prefix occurrence across the boundary; skip those.
        fc.pre(text.split(prefix).length - 1 === rest.length);
        const r = parse(text, prefix);
        assert.equal(r.text, expected);
        assert.deepEqual(
          r.commands.map((c) => ({ name: c.name, args: c.args })),
          rest.map(([c]) => ({ name: c.name, args: c.args })),
        );
      },
    ),
    { numRuns: 1500 },
  );
});
