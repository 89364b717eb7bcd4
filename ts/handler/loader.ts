/**
 * Loading TypeScript with no build step, in the main thread and in every
 * worker: tsx's loader plus an alias so handler files resolve 'afxdp' to
 * this very library.
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

let tsxRegistered = false;
let aliasRegistered = false;

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

/** @internal The worker bootstrap registered tsx before this module loaded. */
export function markTsxRegistered(): void {
  tsxRegistered = true;
}

/** Register tsx and the 'afxdp' alias on this thread. */
export async function registerLoaders(): Promise<void> {
  await registerTsx();
  registerAlias();
}

/**
 * Source of a worker's entry (run with `eval: true`): registers the loaders
 * in the worker, then imports `entry`.
 */
export function workerBootstrap(entry: URL): string {
  const bootstrap = new URL(`./loader${ext}`, here).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  // tsx first, so that loader.ts itself can load when running from source.
  // An eval'd worker is a script (no top-level await): an async IIFE whose
  // failure surfaces as the worker's 'error' event.
  return [
    '(async () => {',
    `  const tsx = await import(${JSON.stringify(tsxApi)});`,
    '  tsx.register();',
    `  const b = await import(${JSON.stringify(bootstrap)});`,
    '  b.markTsxRegistered();',
    '  b.registerAlias();',
    `  await import(${JSON.stringify(entry.href)});`,
    '})().catch((err) => { process.nextTick(() => { throw err; }); });',
  ].join('\n');
}
