/**
 * Loading a user's handler module: TypeScript or JavaScript, ESM or CJS,
 * with a default export `handler(packet) => Verdict` and optional named
 * exports `setup(ctx)` and `teardown()`.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handler } from '../port.js';
import { AfxdpError } from '../errors.js';
import { prepareHandlerLoading } from './loader.js';

/** A handler module that cannot be used: missing, failing to load, or with the wrong exports. */
export class HandlerLoadError extends AfxdpError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_HANDLER_LOAD', message, options);
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

export interface HandlerModule<Ctx = unknown> {
  handler: Handler;
  setup?: (ctx: Ctx) => unknown;
  teardown?: () => unknown;
}

/** Absolute path of a handler file; ERR_HANDLER_LOAD if there is none. */
export function handlerPath(file: string): string {
  const path = resolvePath(file);
  if (!existsSync(path)) {
    throw new HandlerLoadError(`handler file not found: ${file}`);
  }
  if (!statSync(path).isFile()) {
    throw new HandlerLoadError(`handler is not a file: ${file}`);
  }
  return path;
}

function pick(mod: Record<string, unknown>, name: string): unknown {
  if (name in mod && mod[name] !== undefined) return mod[name];
  // A CommonJS module (a .ts file outside a "type": "module" package) arrives
  // as { default: module.exports }, whose own `default` is the ES default.
  const inner = mod.default as Record<string, unknown> | undefined;
  if (inner && (typeof inner === 'object' || typeof inner === 'function') && name in inner) return inner[name];
  return undefined;
}

/**
 * Import the handler module at `path`. `generation` > 0 imports a fresh
 * copy (for reload): the module itself is evaluated again, its imports are
 * not.
 */
export async function loadHandlerModule<Ctx = unknown>(path: string, generation = 0): Promise<HandlerModule<Ctx>> {
  const url = pathToFileURL(path);
  // Marks the handler for the loader hooks (ts/handler/alias-hooks.mjs); a new
  // value per reload makes a fresh module instance.
  url.searchParams.set('afxdp-handler', String(generation));
  let mod: Record<string, unknown>;
  try {
    await prepareHandlerLoading(path);
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error;
    throw new HandlerLoadError(`handler ${path} failed to load: ${oneLine(e?.message ?? String(err))}`, { cause: err });
  }
  let handler = mod.default as unknown;
  if (handler && typeof handler === 'object' && typeof (handler as { default?: unknown }).default === 'function') {
    handler = (handler as { default: unknown }).default;
  }
  if (typeof handler !== 'function') {
    throw new HandlerLoadError(`handler ${path} has no default export function: add \`export default function handler(packet) { ... return Verdict.Tx; }\``,
    );
  }
  const result: HandlerModule<Ctx> = { handler: handler as Handler };
  const setup = pick(mod, 'setup');
  const teardown = pick(mod, 'teardown');
  if (setup !== undefined) {
    if (typeof setup !== 'function') throw new HandlerLoadError(`handler ${path}: export 'setup' is not a function`);
    result.setup = setup as (ctx: Ctx) => unknown;
  }
  if (teardown !== undefined) {
    if (typeof teardown !== 'function') throw new HandlerLoadError(`handler ${path}: export 'teardown' is not a function`);
    result.teardown = teardown as () => unknown;
  }
  return result;
}
