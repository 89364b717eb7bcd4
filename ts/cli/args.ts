/** Argument parsing shared by the commands (node:util parseArgs, strict). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readdirSync, existsSync } from 'node:fs';
import { usageError } from './exit-codes.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** Parse `argv` strictly: an unknown flag is a usage error (exit 2). */
export function parse(argv: string[], options: Options, allowPositionals = true): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return typeof v === 'string' ? v : undefined;
}

export function strs(p: Parsed, name: string): string[] {
  const v = p.values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** A positive integer option, or `fallback` when absent. */
export function int(p: Parsed, name: string, fallback?: number, range: [number, number] = [1, 2 ** 31]): number | undefined {
  const s = str(p, name);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isInteger(n) || n < range[0] || n > range[1]) throw usageError(`--${name} must be an integer in ${range[0]}..${range[1]}, got '${s}'`);
  return n;
}

export function oneOf<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const s = str(p, name);
  if (s === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(s)) throw usageError(`--${name} must be one of ${allowed.join(', ')}, got '${s}'`);
  return s as T;
}

/** Parse a queue list: "all", "3", "0,1", "0-3", "0-1,4". */
export function parseQueues(spec: string, available: number): number[] {
  if (spec === 'all') return Array.from({ length: available }, (_, i) => i);
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw usageError(`--queues must be 'all' or a list like 0,1 or 0-3, got '${spec}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw usageError(`--queues range ${part} runs backwards`);
    for (let q = a; q <= b; q++) out.add(q);
  }
  return [...out].sort((x, y) => x - y);
}

/** Whether an interface exists in this process's network namespace (via sysfs). */
export function interfaceExists(ifname: string): boolean {
  return /^[^/\s]{1,15}$/.test(ifname) && existsSync(`/sys/class/net/${ifname}`);
}

/** RX queues of an interface, from sysfs (1 if sysfs says nothing). */
export function rxQueueCount(ifname: string): number {
  try {
    const n = readdirSync(`/sys/class/net/${ifname}/queues`).filter((d) => d.startsWith('rx-')).length;
    return n > 0 ? n : 1;
  } catch {
    return 1;
  }
}

/** "127.0.0.1:9464", "[::1]:9464", "9464", ":9464" -> host and port; the host defaults to loopback. */
export function parseListen(spec: string): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = spec;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(spec);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (spec.includes(':')) {
    const at = spec.lastIndexOf(':');
    if (at > 0) host = spec.slice(0, at);
    portText = spec.slice(at + 1);
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--metrics must be [host:]port, got '${spec}'`);
  return { host, port };
}
