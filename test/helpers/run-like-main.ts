/**
 * Runs a CLI command in-process and ends it the way src/cli/main.ts does: exit 0, exit 1 for a
 * GacError or a filesystem error main maps to one (its message must be one line), exit 2 for
 * anything else; "hang" when it does not answer in time. Plus a snapshot of a directory tree, to
 * prove an input was not touched.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { fsError } from "../../src/errors.js";
import { captureIO } from "./capture-io.js";

export interface MainExit {
  code: 0 | 1 | 2 | "hang";
  /** The error line (exit 1) or what went wrong (exit 2). */
  detail?: string;
  stdout: string;
  stderr: string;
}

export async function exitLikeMain(args: string[], cwd: string, timeoutMs = 20_000): Promise<MainExit> {
  const io = captureIO(cwd);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((done) => {
    timer = setTimeout(() => done("hang"), timeoutMs);
  });
  const out = (code: MainExit["code"], detail?: string): MainExit => ({ code, ...(detail !== undefined ? { detail } : {}), stdout: io.stdout, stderr: io.stderr });
  try {
    const r = await Promise.race([runCli(args, io).then((code) => ({ code })), hang]);
    if (r === "hang") return out("hang");
    return r.code === 0 ? out(0) : out(2, `exit code ${r.code} without an error`);
  } catch (e) {
    const known = fsError(e);
    if (!known)
      return out(
        2,
        String((e as Error)?.stack ?? e)
          .split("\n")
          .slice(0, 3)
          .join(" | "),
      );
    if (known.message.includes("\n") || known.message.length > 4000) return out(2, `not one line: ${JSON.stringify(known.message.slice(0, 200))}`);
    return out(1, `${known.code}: ${known.message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Everything about a directory tree that an input must keep: names, modes, link targets, bytes. */
export async function treeSnapshot(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const path = join(d, name);
      const s = await lstat(path);
      hash.update(`${rel}/${name}\0${s.mode}\0`);
      if (s.isSymbolicLink()) hash.update(await readlink(path));
      else if (s.isDirectory()) await walk(path, `${rel}/${name}`);
      else if (s.isFile()) hash.update(await readFile(path));
    }
  };
  await walk(dir, "");
  return hash.digest("hex");
}
