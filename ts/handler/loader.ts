/**
 * Making a user's handler module importable, in the main thread and in every
 * worker: an alias so handler files resolve 'afxdp' to this very library,
 * and tsx only when the handler is TypeScript. The command itself runs
 * compiled JavaScript (dist/), so a daemon running a .js handler never loads
 * a compiler (tsx's esbuild service is a child process).
 *
 * Node's own type stripping (Node >= 22.6) was considered: it rejects enums,
 * parameter properties and namespaces and does not map `./x.js` imports to
 * `./x.ts`, which handlers written for tsc use, so a fallback to tsx would be
 * needed anyway; tsx is used for every TypeScript handler until that path
 * can be tested (CI runs Node 20).
 */
import { register as registerHooks } from 'node:module';

const here = new URL('.', import.meta.url);
/** Whether this tree runs from TypeScript sources (tsx) or compiled dist/. */
const fromSource = import.meta.url.endsWith('.ts');
const ext = fromSource ? '.ts' : '.js';

export const aliases: Record<string, string> = {
  afxdp: new URL(`../index${ext}`, here).href,
  'afxdp/packet': new URL(`../packet/index${ext}`, here).href,
};

// Running from sources means tsx is already loading this very file.
let tsxRegistered = fromSource;
let aliasRegistered = false;

/** A path whose module needs a TypeScript loader. */
export function isTypeScript(path: string): boolean {
  return /\.[cm]?ts$/.test(path);
}

/** Register tsx on this thread (idempotent). */
export async function registerTsx(): Promise<void> {
  if (tsxRegistered) return;
  tsxRegistered = true;
  const tsx = await import('tsx/esm/api');
  tsx.register();
}

/** Register the 'afxdp' alias on this thread (idempotent). */
export function registerAlias(): void {
  if (aliasRegistered) return;
  aliasRegistered = true;
  registerHooks(new URL('./alias-hooks.mjs', here).href, { data: { aliases } });
}

/**
 * Make the handler at `path` importable on this thread: tsx first when it is
 * TypeScript (the alias hook, registered after it, runs first and hands the
 * aliased URL down to tsx), then the alias.
 */
export async function prepareHandlerLoading(path: string): Promise<void> {
  if (isTypeScript(path)) await registerTsx();
  registerAlias();
}

/**
 * Source of a worker's entry (run with `eval: true`): imports `entry`, after
 * registering tsx when the entry itself is TypeScript (running from
 * sources). The handler's own loaders are registered by loadHandlerModule.
 */
export function workerBootstrap(entry: URL): string {
  // An eval'd worker is a script (no top-level await): an async IIFE whose
  // failure surfaces as the worker's 'error' event.
  const lines = ['(async () => {'];
  if (entry.pathname.endsWith('.ts')) {
    lines.push(`  (await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();`);
  }
  lines.push(`  await import(${JSON.stringify(entry.href)});`);
  lines.push('})().catch((err) => { process.nextTick(() => { throw err; }); });');
  return lines.join('\n');
}
