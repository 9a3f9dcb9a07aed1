/**
 * The one domain error. A GacError is an expected failure caused by the input or the environment
 * (a truncated file, an unknown layout, a refused backend): the CLI prints its message on one line
 * and exits 1. Anything else that is thrown is a bug and is printed with its stack.
 *
 * Messages say what, where and what it means:
 *   "tensor 'x' ends at byte 9,000 but model.safetensors has 8,192 bytes: the file is truncated"
 */
export type GacErrorCode =
  // checkpoint/
  | "TRUNCATED"
  | "HEADER_TOO_LARGE"
  | "BAD_HEADER"
  | "BAD_DTYPE"
  | "BAD_OFFSETS"
  | "SHAPE_SIZE_MISMATCH"
  | "SHARD_ESCAPE"
  | "MISSING_SHARD"
  | "BAD_INDEX"
  | "MISSING_FILE"
  // model/
  | "BAD_CONFIG"
  | "CONFIG_MISMATCH"
  | "UNKNOWN_LAYOUT"
  | "UNKNOWN_FAMILY"
  | "BAD_QUANT"
  // contract/, plan/, repair/
  | "UNKNOWN_RUNTIME"
  | "UNKNOWN_GPU"
  | "UNSUPPORTED"
  | "OUTPUT_EXISTS"
  | "UNSAFE_OUTPUT"
  | "INPUT_CHANGED"
  | "ABORTED"
  // verify/
  | "VERIFY_FAILED"
  | "BAD_MANIFEST"
  // bench/, worker
  | "NO_GPU"
  | "WORKER_FAILED"
  | "BAD_SUITE"
  | "BAD_RESULTS"
  | "NO_PROFILE"
  // report/
  | "UNKNOWN_INPUT"
  // cli
  | "BAD_ARGS"
  // filesystem (fsError below): the environment refused an operation
  | "DISK_FULL"
  | "READ_ONLY_FS"
  | "PERMISSION_DENIED"
  | "NAME_TOO_LONG"
  | "SYMLINK_LOOP"
  | "NOT_A_DIRECTORY"
  | "IS_A_DIRECTORY"
  | "NOT_REGULAR_FILE"
  | "FILE_TOO_LARGE"
  | "OUTPUT_BUSY"
  | "TOO_MANY_OPEN_FILES"
  | "IO_ERROR"
  | "BAD_JSON";

export class GacError extends Error {
  override readonly name = "GacError";
  constructor(
    readonly code: GacErrorCode,
    message: string,
  ) {
    // Every message is printed as one line on a terminal: whatever a hostile file put in it.
    super(sanitizeMessage(message));
  }
}

/** Longest run of non-space characters kept whole in a message; longer ones keep both ends and their length. */
export const MAX_MESSAGE_WORD = 300;
/** Longest message: a few lines of a terminal. */
export const MAX_MESSAGE_LENGTH = 2_000;

/**
 * Control characters (newlines, ESC of terminal escape codes, C1 controls, U+2028/2029, bidi
 * overrides) written as \n, \x1b, \u202e..., so that a message stays one line and a name cannot
 * move the cursor or recolour the terminal.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    const code = c.charCodeAt(0);
    return named[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`);
  });
}

/** "aaaa...zz" -> "aaaa…[12,345 chars]…zz" when longer than `max`. */
export function truncateText(text: string, max: number = MAX_MESSAGE_WORD): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6);
  const tail = Math.floor(max * 0.2);
  return `${text.slice(0, head)}…[${formatCount(text.length)} chars]…${text.slice(text.length - tail)}`;
}

/** A name or value echoed in a message: controls escaped, long ones cut with their length. */
export function quoteName(name: string, max = 200): string {
  return `'${truncateText(escapeControls(name), max)}'`;
}

/** A JSON value echoed in a message (JSON.stringify of a 50 MB string would be a 50 MB line). */
export function describeValue(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncateText(escapeControls(text), max);
}

export function sanitizeMessage(message: string): string {
  const words = escapeControls(message).replace(/\S{301,}/g, (w) => truncateText(w));
  return truncateText(words, MAX_MESSAGE_LENGTH);
}

export function isGacError(e: unknown): e is GacError {
  return e instanceof GacError;
}

/** 1234567 -> "1,234,567": byte counts in messages are read by people. */
export function formatCount(n: number | bigint): string {
  return n.toLocaleString("en-US");
}

interface FsErrorKind {
  code: GacErrorCode;
  what: string;
  todo: string;
}

/** Node's errno codes gac can meet on files, each with what it means and what the user can do. */
const FS_ERRORS: Record<string, FsErrorKind> = {
  ENOSPC: { code: "DISK_FULL", what: "the disk is full", todo: "free space there or choose an output on another disk" },
  EDQUOT: { code: "DISK_FULL", what: "the disk quota is exhausted", todo: "free space there or choose an output on another disk" },
  EROFS: { code: "READ_ONLY_FS", what: "the filesystem is read-only", todo: "choose an output on a writable filesystem" },
  EACCES: { code: "PERMISSION_DENIED", what: "permission denied", todo: "check the permissions of the file and the directories above it" },
  EPERM: { code: "PERMISSION_DENIED", what: "operation not permitted", todo: "check the permissions and attributes (immutable, append-only) of the path" },
  ENAMETOOLONG: { code: "NAME_TOO_LONG", what: "the name is too long for the filesystem", todo: "use a shorter path" },
  ELOOP: { code: "SYMLINK_LOOP", what: "symbolic links form a loop (or nest too deep)", todo: "fix the links along the path" },
  ENOENT: { code: "MISSING_FILE", what: "no such file or directory", todo: "check the path; a file may have been removed while gac ran" },
  ENOTDIR: { code: "NOT_A_DIRECTORY", what: "a component of the path is not a directory", todo: "check the path" },
  EISDIR: { code: "IS_A_DIRECTORY", what: "it is a directory where a file was expected", todo: "check the path" },
  ENXIO: { code: "NOT_REGULAR_FILE", what: "it is a socket or a device without a reader, not a regular file", todo: "point gac at regular files" },
  ERR_FS_FILE_TOO_LARGE: { code: "FILE_TOO_LARGE", what: "the file is too large to read at once (over 2 GiB)", todo: "report it: gac should stream this file" },
  ENOTEMPTY: { code: "OUTPUT_BUSY", what: "the directory is not empty (another process may be writing it)", todo: "make sure one gac at a time writes this output, then retry" },
  EEXIST: { code: "OUTPUT_BUSY", what: "it already exists (another process may be writing it)", todo: "make sure one gac at a time writes this output, then retry" },
  EBUSY: { code: "OUTPUT_BUSY", what: "the path is busy (a mount point or in use)", todo: "choose another path" },
  EXDEV: { code: "IO_ERROR", what: "the rename crosses filesystems", todo: "choose an output on one filesystem with its parent directory" },
  EMFILE: { code: "TOO_MANY_OPEN_FILES", what: "too many open files", todo: "raise the open-file limit (ulimit -n)" },
  ENFILE: { code: "TOO_MANY_OPEN_FILES", what: "the system's open-file table is full", todo: "retry when fewer files are open" },
  EIO: { code: "IO_ERROR", what: "an I/O error (the disk or network filesystem failed)", todo: "check the disk and retry" },
  EFBIG: { code: "FILE_TOO_LARGE", what: "the file is larger than the filesystem allows", todo: "choose an output on a filesystem with larger files" },
};

const SYSCALL_VERBS: Record<string, string> = {
  open: "open",
  read: "read",
  write: "write",
  mkdir: "create directory",
  rename: "rename",
  rm: "remove",
  rmdir: "remove",
  unlink: "remove",
  stat: "inspect",
  lstat: "inspect",
  fstat: "inspect",
  realpath: "resolve",
  scandir: "list",
  opendir: "list",
  fsync: "flush",
  copyfile: "copy",
  link: "link",
  symlink: "link",
  utime: "touch",
};

function errnoOf(e: unknown): (NodeJS.ErrnoException & { dest?: string }) | undefined {
  return typeof e === "object" && e !== null && typeof (e as NodeJS.ErrnoException).code === "string" ? (e as NodeJS.ErrnoException) : undefined;
}

/**
 * A filesystem error from Node (ENOSPC, EACCES, ELOOP, ...) as a GacError whose one line says what
 * failed, where, and what to do; undefined for anything else (a bug stays a bug). `context` names
 * the task ("writing the repaired checkpoint") when the caller knows it.
 */
export function fsError(e: unknown, context?: string): GacError | undefined {
  if (isGacError(e)) return e;
  const err = errnoOf(e);
  const kind = err && FS_ERRORS[err.code!];
  if (!err || !kind) return undefined;
  const verb = (err.syscall && SYSCALL_VERBS[err.syscall.replace(/^uv_fs_/, "")]) ?? err.syscall ?? "access";
  const where = err.path ? ` ${err.path}${err.dest ? ` -> ${err.dest}` : ""}` : "";
  const during = context ? ` while ${context}` : "";
  return new GacError(kind.code, `cannot ${verb}${where}${during}: ${kind.what} (${err.code}); ${kind.todo}`);
}

/** Runs `fn`, turning filesystem errors into GacErrors (see fsError). */
export async function withFsErrors<T>(fn: () => Promise<T>, context?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fsError(e, context) ?? e;
  }
}
