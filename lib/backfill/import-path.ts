import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { ImportFileError } from './import-formats';

/** Whether `path` is `dir` itself or below it, by their names. */
function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export type ImportPath = { ok: true; path: string } | { ok: false; code: 'path_outside_import_dir' | 'file_not_found'; message: string };

/**
 * Resolves a path given for a server-side import against the import
 * directory: relative paths are taken from it, absolute ones must lie in it.
 * The answer is the real path (symlinks followed), and that too must lie in
 * the real import directory, so a link cannot lead out. A path outside is
 * refused before the file system is asked anything about it.
 */
export async function resolveImportPath(importDir: string, requested: string): Promise<ImportPath> {
  const outside = {
    ok: false,
    code: 'path_outside_import_dir',
    message: `server-side imports read only files in the import directory (HERODOTUS_IMPORT_DIR); ${JSON.stringify(requested)} is not in it`,
  } as const;
  const lexical = resolve(importDir, requested);
  if (!inside(resolve(importDir), lexical)) return outside;
  const realDir = await realpath(importDir).catch(() => null);
  if (realDir === null)
    return { ok: false, code: 'file_not_found', message: 'the import directory (HERODOTUS_IMPORT_DIR) does not exist on the server' };
  const notFound = { ok: false, code: 'file_not_found', message: `no file ${JSON.stringify(requested)} in the import directory` } as const;
  const real = await realpath(lexical).catch(() => null);
  if (real === null) return notFound;
  if (!inside(realDir, real)) return outside;
  const file = await stat(real).catch(() => null);
  return file?.isFile() ? { ok: true, path: real } : notFound;
}

/**
 * The activities' own check of a path a workflow hands them: followed
 * through its links it must lie inside one of `dirs` (the import directory, the upload
 * directory). A workflow started by other means than the API cannot read
 * elsewhere.
 */
export async function checkImportPath(dirs: string[], path: string): Promise<void> {
  const real = await realpath(path).catch((err: NodeJS.ErrnoException) => {
    throw new ImportFileError(`the file cannot be opened (${err.code ?? 'error'})`);
  });
  const realDirs = await Promise.all(dirs.map((d) => realpath(d).catch(() => resolve(d))));
  if (!realDirs.some((d) => inside(d, real))) throw new ImportFileError('the file is not in the import or upload directory');
}
