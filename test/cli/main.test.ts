import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../../src/cli/main.js";
import { defineCommand, stringValue } from "../../src/cli/command.js";
import { GacError } from "../../src/errors.js";
import { captureIO } from "../helpers/capture-io.js";

const echo = defineCommand({
  name: "echo",
  summary: "Print its argument",
  options: { upper: { type: "boolean", description: "Upper-case it" }, prefix: { type: "string", description: "Prefix", valueName: "<text>", default: ">" } },
  positionals: [{ name: "text", description: "What to print", required: true }],
  async run({ values, positionals, io }) {
    const text = positionals[0] ?? "";
    io.out(`${stringValue(values, "prefix")}${values.upper === true ? text.toUpperCase() : text}\n`);
    return 0;
  },
});

test("runs a command with its parsed options and positionals", async () => {
  const io = captureIO();
  assert.equal(await runCli(["echo", "hi", "--upper"], io, [echo]), 0);
  assert.equal(io.stdout, ">HI\n");
});

test("lists every command in the main help", async () => {
  const io = captureIO();
  assert.equal(await runCli(["--help"], io, [echo]), 0);
  assert.match(io.stdout, /Commands:\n {2}echo \[options\] <text> +Print its argument\n/);
  assert.match(io.stdout, /help \[command\] +Show the help of a command/);
});

test("renders a command's options and defaults in its help", async () => {
  const io = captureIO();
  await runCli(["echo", "--help"], io, [echo]);
  assert.equal(
    io.stdout,
    [
      "Usage: gac echo [options] <text>",
      "",
      "Print its argument",
      "",
      "Arguments:",
      "  text             What to print",
      "",
      "Options:",
      "  --upper          Upper-case it",
      "  --prefix <text>  Prefix (default: >)",
      "  -h, --help       Show this help",
      "",
    ].join("\n"),
  );
});

test("rejects an unknown command with a typed one-line error", async () => {
  await assert.rejects(runCli(["nope"], captureIO(), [echo]), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /unknown command 'nope'/.test(e.message));
});

test("rejects a missing positional and an unknown option", async () => {
  await assert.rejects(runCli(["echo"], captureIO(), [echo]), /^GacError: missing required argument 'text' \(see `gac help echo`\)$/);
  await assert.rejects(runCli(["echo", "x", "--bogus"], captureIO(), [echo]), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && !e.message.includes("\n"));
});
