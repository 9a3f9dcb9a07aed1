/**
 * Opening a file gac reads as input: regular files only. The open uses O_NONBLOCK, so a FIFO opens
 * at once instead of waiting forever for a writer, and fstat on the open handle (not a stat of the
 * name, which could change between the two calls) refuses FIFOs, devices and sockets before a
 * single byte is read. O_NONBLOCK has no effect on regular files.
 */
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { Stats } from "node:fs";
import { GacError, fsError } from "../errors.js";

function kindOf(s: Stats): string {
  if (s.isDirectory()) return "a directory";
  if (s.isFIFO()) return "a FIFO (named pipe)";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  if (s.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Opens `path` for reading; `what` says what gac wanted ("config.json", "a safetensors shard").
 * Missing files are MISSING_FILE; anything but a regular file is NOT_REGULAR_FILE (IS_A_DIRECTORY
 * for a directory); other failures are mapped by fsError.
 */
export async function openRegularFile(path: string, what: string): Promise<{ fh: FileHandle; stat: Stats }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new GacError("MISSING_FILE", `${path} does not exist (gac needs it as ${what})`);
    if (code === "ENXIO") throw new GacError("NOT_REGULAR_FILE", `${path} is a socket or device, not a regular file (gac needs it as ${what})`);
    throw fsError(e, `opening ${what}`) ?? e;
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) {
      throw new GacError(stat.isDirectory() ? "IS_A_DIRECTORY" : "NOT_REGULAR_FILE", `${path} is ${kindOf(stat)}, not a regular file (gac needs it as ${what}); gac reads only regular files`);
    }
    return { fh, stat };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw fsError(e, `reading ${what}`) ?? e;
  }
}

/** Reads a whole regular file of at most `maxBytes`, refusing a larger one before reading it. */
export async function readRegularFile(path: string, what: string, maxBytes: number, tooLarge: (size: number) => GacError): Promise<Buffer> {
  const { fh, stat } = await openRegularFile(path, what);
  try {
    if (stat.size > maxBytes) throw tooLarge(stat.size);
    // One byte more than fstat said: a file that grew since is read only up to the limit.
    const buf = Buffer.allocUnsafe(stat.size + 1);
    let done = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
      if (done === buf.byteLength) break;
    }
    if (done > maxBytes) throw tooLarge(done);
    return buf.subarray(0, Math.min(done, stat.size + 1));
  } catch (e) {
    throw fsError(e, `reading ${what}`) ?? e;
  } finally {
    await fh.close().catch(() => undefined);
  }
}
