/**
 * --watch: call `changed` (debounced) when the handler file changes.
 *
 * Watches the directory, not the file: editors that save by writing a new
 * file and renaming it over the old one replace the inode a file watch is
 * tied to, and it would go quiet after the first save. For a symlink, both
 * the link's directory (the link replaced) and its target's (the file
 * edited).
 */
import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export function watchHandlerFile(path: string, changed: () => void, debounceMs = 150): () => void {
  let debounce: NodeJS.Timeout | null = null;
  const fire = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(changed, debounceMs);
  };
  const names = new Map<string, Set<string>>();
  for (const file of new Set([path, realpathSync(path)])) {
    const dir = dirname(file);
    names.set(dir, (names.get(dir) ?? new Set()).add(basename(file)));
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, watched] of names) {
    // No file name (some platforms): any change in the directory counts.
    watchers.push(watch(dir, (_event, file) => (file === null || watched.has(file)) && fire()));
  }
  return () => {
    for (const w of watchers) w.close();
    if (debounce) clearTimeout(debounce);
  };
}
