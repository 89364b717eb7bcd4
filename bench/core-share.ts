/**
 * Where one CPU's time went during a bench window, from /proc/stat's
 * per-CPU line (ticks of user, system, softirq, idle, ...). Per-thread CPU
 * time says how much a consumer used; this says what else ran on its core
 * meanwhile and how long the core sat idle, which is what separates "less
 * work per frame" from "less of the core".
 */
import { readFileSync } from 'node:fs';

export interface CoreShare {
  /** Fractions of the window, 0..1; they add up to 1. */
  user: number;
  system: number;
  softirq: number;
  idle: number;
  /** irq, steal, iowait, nice, guest. */
  other: number;
}

type Ticks = number[];

function readTicks(cpu: number): Ticks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`no line for cpu${cpu} in /proc/stat`);
  return line.trim().split(/\s+/).slice(1).map(Number);
}

/** Start measuring `cpu`; call the returned function at the window's end. */
export function coreShare(cpu: number): () => CoreShare {
  const t0 = readTicks(cpu);
  return () => {
    const d = readTicks(cpu).map((v, i) => v - (t0[i] ?? 0));
    // user nice system idle iowait irq softirq steal guest guest_nice
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = d;
    const total = d.slice(0, 8).reduce((a, b) => a + b, 0) || 1;
    return { user: user / total, system: system / total, softirq: softirq / total, idle: idle / total, other: (nice + iowait + irq + steal) / total };
  };
}

/** Median of each field over windows (fields taken independently). */
export function medianShare(shares: CoreShare[]): CoreShare | null {
  if (shares.length === 0) return null;
  const med = (k: keyof CoreShare) => {
    const s = shares.map((x) => x[k]).sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  };
  return { user: med('user'), system: med('system'), softirq: med('softirq'), idle: med('idle'), other: med('other') };
}

export function formatShare(s: CoreShare | null): string {
  if (!s) return 'absent';
  const pc = (x: number) => (100 * x).toFixed(0);
  return `${pc(s.user)}/${pc(s.system)}/${pc(s.softirq)}/${pc(s.idle)}`;
}
