/**
 * Where an output directory may go, decided by identity rather than spelling. Paths are compared
 * after resolving every link (realpath of the deepest existing part, the rest appended) and
 * directories by device + inode (which also sees through bind mounts), so `plink/in --out parent`
 * with `plink -> parent`, or `--out in1link/sub` with `in1link -> in1`, are the input's own
 * directories however they are spelled.
 *
 * Refused: an empty or root output; an output that is, contains or lies inside the input directory
 * or holds any file the input reads; an existing output that is a symbolic link. An existing
 * output is replaced (with --force) only when it is a gac output (holds `marker`) or is empty;
 * anything else needs `replaceAny` too (the CLI's second, explicit flag).
 */
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { GacError, fsError } from "../errors.js";

export interface OutputTarget {
  /** The output with every link of its existing part resolved: all writes and renames use this. */
  path: string;
  /** Whether something exists there now. */
  exists: boolean;
}

export interface OutputRules {
  /** Directories and files the run reads; the output may not be, contain or be inside any of them. */
  inputs: readonly string[];
  /** Replace an existing output (the --force flag). */
  force: boolean;
  /** File whose presence makes an existing directory a replaceable gac output ("gac-repair.json"). */
  marker: string;
  /** Replace an existing output that is neither empty nor a gac output (the second flag). */
  replaceAny: boolean;
  /** The flag that sets `replaceAny`, for messages (none: the command offers no such flag). */
  replaceAnyFlag?: string;
}

interface Identity {
  dev: number;
  ino: number;
}

const same = (a: Identity, b: Identity) => a.dev === b.dev && a.ino === b.ino;
const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/** realpath of the deepest existing ancestor of `abs`, with the missing components appended. */
async function resolveExisting(abs: string): Promise<{ real: string; existing: string }> {
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      const real = await realpath(at);
      return { real: missing.length === 0 ? real : join(real, ...missing.reverse()), existing: real };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw fsError(e, `resolving output ${abs}`) ?? e;
      const parent = dirname(at);
      if (parent === at) throw new GacError("UNSAFE_OUTPUT", `no part of output ${abs} exists`);
      missing.push(basename(at));
      at = parent;
    }
  }
}

/** Identities of `path` and every directory above it, up to the root. */
async function ancestry(path: string): Promise<Identity[]> {
  const out: Identity[] = [];
  for (let at = path; ; at = dirname(at)) {
    const s = await stat(at).catch(() => undefined);
    if (s) out.push({ dev: s.dev, ino: s.ino });
    if (dirname(at) === at) return out;
  }
}

/** Whether an existing output may be replaced: a gac output (holds the marker) or an empty directory. */
async function replaceability(path: string, marker: string): Promise<"gac" | "empty" | "other"> {
  const s = await stat(path);
  if (!s.isDirectory()) return "other";
  const names = await readdir(path);
  if (names.length === 0) return "empty";
  return names.includes(marker) ? "gac" : "other";
}

/**
 * Checks `out` against `rules` and returns where to write. Call it before any write and again
 * just before publishing (links can change in between).
 */
export async function checkOutputPath(out: string, rules: OutputRules): Promise<OutputTarget> {
  if (out.trim() === "") throw new GacError("UNSAFE_OUTPUT", "the output path is empty; give a directory name (it would have meant the current directory)");
  const abs = resolve(out);
  if (dirname(abs) === abs) throw new GacError("UNSAFE_OUTPUT", `the output ${abs} is the filesystem root; choose a new directory`);
  const link = await lstat(abs).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
    throw fsError(e, `inspecting output ${abs}`) ?? e;
  });
  if (link?.isSymbolicLink()) {
    throw new GacError("UNSAFE_OUTPUT", `the output ${abs} is a symbolic link; gac would replace the link, not what it points to: give the real directory or remove the link`);
  }
  const { real, existing } = await resolveExisting(abs);
  if (dirname(real) === real) throw new GacError("UNSAFE_OUTPUT", `the output ${abs} resolves to the filesystem root; choose a new directory`);

  const outAncestry = await ancestry(existing);
  const outIdentity = link ? outAncestry[0] : undefined;
  for (const input of rules.inputs) {
    const realIn = await realpath(input).catch(() => resolve(input));
    const inStat = await stat(realIn).catch(() => undefined);
    const why =
      realIn === real || (outIdentity && inStat && same(outIdentity, inStat))
        ? "is"
        : inside(real, realIn) || (inStat?.isDirectory() && outAncestry.some((a) => same(a, inStat)))
          ? "is inside"
          : inside(realIn, real) || (outIdentity && (await ancestry(realIn)).some((a) => same(a, outIdentity)))
            ? "contains"
            : undefined;
    if (why) {
      const spelled = real === abs ? abs : `${abs} (${real})`;
      throw new GacError("UNSAFE_OUTPUT", `the output ${spelled} ${why} the input ${realIn}; gac never writes into, over or around its input: choose a directory outside it`);
    }
  }

  if (link && !rules.force) throw new GacError("OUTPUT_EXISTS", `${real} already exists; choose another output or pass --force to replace it`);
  if (link && !rules.replaceAny) {
    const kind = await replaceability(real, rules.marker);
    if (kind === "other") {
      throw new GacError(
        "OUTPUT_EXISTS",
        `${real} exists and is not a gac output (no ${rules.marker}) nor an empty directory; --force replaces only those. Remove it yourself${rules.replaceAnyFlag ? `, choose another output, or add ${rules.replaceAnyFlag} to replace it anyway` : " or choose another output"}`,
      );
    }
  }
  return { path: real, exists: link !== undefined };
}
