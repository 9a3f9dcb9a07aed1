import { test } from "node:test";
import assert from "node:assert/strict";
import { GacError, MAX_MESSAGE_LENGTH, describeValue, escapeControls, fsError, quoteName } from "../../src/errors.js";

test("a GacError message is one line: newlines, ESC, BEL, C1 controls, U+2028 and bidi overrides are escaped", () => {
  const e = new GacError("BAD_HEADER", "tensor 'a\nb\u001b[31m\u0007\u0085\u2028\u202e' is bad");
  assert.equal(e.message, "tensor 'a\\nb\\x1b[31m\\x07\\x85\\u2028\\u202e' is bad");
  assert.equal(escapeControls("tab\there\r"), "tab\\there\\r");
});

test("a long word in a message keeps both ends and says its length; the whole message is capped", () => {
  const e = new GacError("BAD_HEADER", `tensor '${"n".repeat(50_000)}' has dtype "F99"`);
  assert.ok(e.message.length < 400, String(e.message.length));
  assert.match(e.message, /…\[50,002 chars\]…/);
  assert.match(e.message, /has dtype "F99"$/);
  const many = new GacError("BAD_HEADER", Array.from({ length: 2000 }, () => "word").join(" "));
  assert.ok(many.message.length <= MAX_MESSAGE_LENGTH + 40);
});

test("quoteName and describeValue cut what they echo and escape controls", () => {
  assert.equal(quoteName("a\nb"), "'a\\nb'");
  assert.match(quoteName("x".repeat(1000)), /^'x{120}…\[1,000 chars\]…x{40}'$/);
  assert.match(describeValue("v".repeat(10_000_000)), /\[10,000,002 chars\]/);
  assert.equal(describeValue([1, "a"]), '[1,"a"]');
});

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: raw node text, ${syscall} '${path}'`), { code, syscall, path, errno: -1 });
}

test("filesystem errors become one typed line: what failed, where, what it means, what to do", () => {
  const cases: [string, string, string, RegExp][] = [
    ["ENOSPC", "write", "/out/.x.gac-tmp/model.safetensors", /^cannot write \/out\/.* the disk is full \(ENOSPC\); free space/],
    ["EROFS", "mkdir", "/ro/out", /^cannot create directory \/ro\/out: the filesystem is read-only \(EROFS\)/],
    ["EACCES", "open", "/m/config.json", /^cannot open \/m\/config.json: permission denied \(EACCES\); check the permissions/],
    ["ELOOP", "open", "/m/config.json", /symbolic links form a loop/],
    ["ENAMETOOLONG", "mkdir", "/x", /name is too long/],
    ["ENOENT", "open", "/m/gone", /no such file/],
    ["EISDIR", "read", "/m/dir", /is a directory/],
    ["ENOTEMPTY", "rename", "/out", /another process may be writing it/],
  ];
  const codes = {
    ENOSPC: "DISK_FULL",
    EROFS: "READ_ONLY_FS",
    EACCES: "PERMISSION_DENIED",
    ELOOP: "SYMLINK_LOOP",
    ENAMETOOLONG: "NAME_TOO_LONG",
    ENOENT: "MISSING_FILE",
    EISDIR: "IS_A_DIRECTORY",
    ENOTEMPTY: "OUTPUT_BUSY",
  } as Record<string, string>;
  for (const [code, syscall, path, expected] of cases) {
    const e = fsError(errno(code, syscall, path));
    assert.ok(e instanceof GacError, code);
    assert.equal(e.code, codes[code]);
    assert.match(e.message, expected);
  }
  const tooLarge = fsError(Object.assign(new RangeError("File size (3000000000) is greater than 2 GiB"), { code: "ERR_FS_FILE_TOO_LARGE" }));
  assert.equal(tooLarge?.code, "FILE_TOO_LARGE");
  assert.equal(fsError(new TypeError("a bug")), undefined, "anything else stays a bug");
});
