/** Small filesystem questions shared by the checkpoint reader, the atomic publisher and the results store. */
import { stat } from "node:fs/promises";

/**
 * Whether anything (file, directory, ...) exists at `path`. "Nothing there" is ENOENT, or ENOTDIR
 * when a parent is a file; any other failure (permissions, I/O) is thrown, not read as absence.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw e;
  }
}
