// Reading `-f FILE|DIR|-`: which texts a command works on, and where each came from.
//
// A directory means every *.yaml, *.yml and *.json file directly inside it, sorted by name (no
// recursion, like calicoctl and kubectl without -R). `-` is standard input, read once. Each text
// keeps its source name so that every later message can say "file x.yaml, document 2, line 14".
// An unreadable path is an InputError (exit code 1) naming the path and what was wrong.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code = 'Input';
}

export interface SourceText {
  /** File path as the user wrote it (joined with the directory for DIR), or "<stdin>". */
  readonly source: string;
  readonly text: string;
}

export const STDIN_SOURCE = '<stdin>';
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Read every `-f` argument in order; `readStdin` is called at most once. */
export function readSources(paths: readonly string[], readStdin: () => string): SourceText[] {
  if (paths.length === 0) throw new InputError('no input: give -f FILE, -f DIR or -f - (standard input)');
  const out: SourceText[] = [];
  let stdinUsed = false;
  for (const path of paths) {
    if (path === '-') {
      if (stdinUsed) throw new InputError('-f - (standard input) can be given only once');
      stdinUsed = true;
      out.push({ source: STDIN_SOURCE, text: readStdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      throw new InputError(`cannot read ${path}: ${systemReason(err)}`, { cause: err });
    }
    const files = isDir ? manifestFilesIn(path) : [path];
    for (const file of files) out.push({ source: file, text: readText(file) });
  }
  return out;
}

function manifestFilesIn(dir: string): string[] {
  const names = readdirSync(dir)
    .filter((n) => MANIFEST_FILE.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile());
  if (names.length === 0) throw new InputError(`directory ${dir} holds no .yaml, .yml or .json files`);
  return names;
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${systemReason(err)}`, { cause: err });
  }
  return decodeUtf8(bytes, file);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a manifest, which must be UTF-8 (as YAML and JSON are): bytes that are not are
 * refused with where they are — file, document, line, byte offset — and never echoed, since
 * they would print as garbage or drive the terminal.
 */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = Buffer.from(bytes.subarray(0, at)).toString('latin1');
    const lines = before.split('\n');
    // Documents are counted as loadManifests counts them: a "---" after some content starts one.
    let document = 1;
    let content = false;
    for (const l of lines) {
      if (/^---(\s|$)/.test(l)) {
        if (content) document++;
        content = false;
      } else if (l.trim() !== '' && !l.trimStart().startsWith('#')) content = true;
    }
    throw new InputError(
      `${source}: document ${document} (line ${lines.length}): not UTF-8 text: byte ${at} (0x${bytes[at]!.toString(16).padStart(2, '0')}) does not start or continue a UTF-8 character; save the file as UTF-8`,
    );
  }
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    // Overlong, surrogate and out-of-range forms of 3- and 4-byte sequences.
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += n + 1;
  }
  return b.length;
}

function systemReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}
