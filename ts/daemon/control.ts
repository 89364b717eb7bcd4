/**
 * Runtime control of a running daemon's kernel drop list: the daemon listens
 * on a Unix socket next to its state file (/run/afxdp/<pid>.sock, mode 0600)
 * for JSON lines, and `afxdp block|unblock|blocked` talk to it.
 *
 * Request:  {"op":"block","interface":"eth0","prefix":"198.51.100.0/24","ttl":60}
 *           {"op":"unblock","interface":"eth0","prefix":"198.51.100.0/24"}
 *           {"op":"blocked","interface":"eth0"}
 * Response: {"ok":true,"result":...} or {"ok":false,"error":"...","exitCode":N}
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { CliError, ExitCode, exitCodeFor, usageError } from '../cli/exit-codes.js';
import type { ControlRequest } from './protocol.js';
import { STATE_DIR } from './state-file.js';

export function controlSocketPath(pid: number = process.pid): string {
  return join(STATE_DIR, `${pid}.sock`);
}

export interface ControlReply {
  ok: boolean;
  result?: unknown;
  error?: string;
  exitCode?: number;
}

/** Check a request from the socket (untrusted JSON) and return it typed, or throw a usage error. */
export function checkRequest(data: unknown): ControlRequest {
  const r = data as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') throw usageError('expected a JSON object');
  if (typeof r.interface !== 'string' || r.interface === '') throw usageError('missing "interface"');
  switch (r.op) {
    case 'block': {
      if (typeof r.prefix !== 'string') throw usageError('missing "prefix"');
      if (r.ttl !== undefined && r.ttl !== null && !(typeof r.ttl === 'number' && r.ttl > 0 && Number.isFinite(r.ttl))) {
        throw usageError('"ttl" must be a positive number of seconds');
      }
      const req: ControlRequest = { op: 'block', interface: r.interface, prefix: r.prefix };
      if (typeof r.ttl === 'number') req.ttl = r.ttl;
      return req;
    }
    case 'unblock':
      if (typeof r.prefix !== 'string') throw usageError('missing "prefix"');
      return { op: 'unblock', interface: r.interface, prefix: r.prefix };
    case 'blocked':
      return { op: 'blocked', interface: r.interface };
    default:
      throw usageError(`unknown op ${JSON.stringify(r.op)}: block, unblock or blocked`);
  }
}

/**
 * Listen on the daemon's control socket. `handle` runs a checked request
 * (and throws to report a failure). Resolves with the server, or null (and
 * a reason) when the socket cannot be created: the daemon runs on without.
 */
export async function serveControl(
  handle: (request: ControlRequest) => Promise<unknown>,
  path = controlSocketPath(),
): Promise<{ server: Server | null; path: string; problem?: string }> {
  const server = createServer((sock) => {
    let buffer = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 65536) {
        sock.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        void answer(line).then((reply) => {
          if (!sock.destroyed) sock.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  });
  const answer = async (line: string): Promise<ControlReply> => {
    try {
      const request = checkRequest(JSON.parse(line));
      return { ok: true, result: await handle(request) };
    } catch (err) {
      if (err instanceof CliError) return { ok: false, error: err.message, exitCode: err.exitCode };
      if (err instanceof SyntaxError) return { ok: false, error: `not JSON: ${err.message}`, exitCode: ExitCode.Usage };
      const e = err as { message?: unknown; code?: unknown };
      const code = typeof e?.code === 'string' ? e.code : undefined;
      return { ok: false, error: String(e?.message ?? err), exitCode: code?.startsWith('EXIT_') ? Number(code.slice(5)) : exitCodeFor(code) };
    }
  };
  try {
    mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
    rmSync(path, { force: true }); // a stale socket of an earlier process with this pid
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Created 0600: changing the drop list takes what attaching it took.
      const mask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(mask);
      }
    });
    chmodSync(path, 0o600);
    return { server, path };
  } catch (err) {
    server.close();
    return { server: null, path, problem: (err as Error).message };
  }
}

/** Close the control socket and remove its file. */
export async function closeControl(server: Server | null, path: string): Promise<void> {
  if (server) await new Promise((r) => server.close(r));
  rmSync(path, { force: true });
}

