/**
 * Fixtures for privileged tests: a veth lab per test, entered by the test
 * process, and a peer that sends and captures real frames from the other
 * namespace. Under CI=true a missing privilege fails the test instead of
 * skipping it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { Lab, type LabOptions, enterNetns } from '../../ts/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Why privileged tests cannot run here, or null if they can. */
export function privilegeProblem(): string | null {
  if (process.getuid?.() !== 0) return 'privileged tests need root (netns, veth, XDP, AF_XDP)';
  try {
    const lab = Lab.create();
    lab.destroy();
  } catch (err) {
    return `cannot create a veth lab: ${(err as Error).message}`;
  }
  return null;
}

/**
 * Command prefix that runs the rest of the command line with no
 * capabilities at all, still as uid 0: what an unprivileged user gets from
 * the kernel (the checks are on capabilities, never on the uid), while the
 * process can still read a checkout under a 0700 directory such as /root.
 * The bounding set is emptied too, so exec'ing a binary as root does not
 * grant them back.
 */
export const NO_CAPABILITIES = ['setpriv', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all'];

let cachedProblem: string | null | undefined;

/** Skip (locally) or fail (CI=true) when privileged tests cannot run. */
export function requirePrivileges(t: TestContext): boolean {
  if (cachedProblem === undefined) cachedProblem = privilegeProblem();
  if (cachedProblem === null) return true;
  if (process.env.CI === 'true') throw new Error(`privileged test cannot run under CI: ${cachedProblem}`);
  t.skip(cachedProblem);
  return false;
}

/**
 * Run `body` with a fresh lab whose dut namespace this thread has entered.
 * The lab is deleted afterwards, whatever happens.
 */
export async function withLab<T>(options: LabOptions, body: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = Lab.create(options);
  try {
    enterNetns(lab.dut.ns);
    return await body(lab);
  } finally {
    lab.destroy();
  }
}

export interface PeerResult {
  sent: number;
  captured: Uint8Array[];
}

export interface PeerOptions {
  /** Frames to send from the peer. */
  send?: Uint8Array[];
  /** Capture what arrives at the peer. */
  capture?: boolean;
  /** Stop capturing once this many frames arrived (plus a short linger). */
  expect?: number;
  /** Stop capturing after this long without a frame (default 500 ms). */
  idleMs?: number;
  timeoutS?: number;
  burst?: number;
  gapUs?: number;
}

function encodeFrames(frames: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(f.length);
    parts.push(len, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

function decodeFrames(data: Buffer): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < data.length; ) {
    const n = data.readUInt32LE(i);
    frames.push(new Uint8Array(data.subarray(i + 4, i + 4 + n)));
    i += 4 + n;
  }
  return frames;
}

/** Send and/or capture real frames at the lab's peer end (test/helpers/peer.py). */
export function peer(lab: Lab, options: PeerOptions): Promise<PeerResult> {
  return peerCapture(lab, options).result;
}

export interface PeerRun {
  /**
   * Resolves once the peer's capture socket is bound (every frame arriving
   * from then on is captured), or at once without `capture`; rejects if the
   * peer fails first.
   */
  ready: Promise<void>;
  /** What the peer sent and captured, when it is done. */
  result: Promise<PeerResult>;
}

/**
 * `peer()` with a ready signal: start a capture, await `ready`, then make
 * the frames that should arrive, then await `result`.
 */
export function peerCapture(lab: Lab, options: PeerOptions): PeerRun {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-peer-'));
  let onReady!: () => void;
  let onFail!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  ready.catch(() => undefined); // a caller that only awaits `result` still hears of failures there
  const result = (async () => {
    const args = ['netns', 'exec', lab.peer.ns, 'python3', join(here, 'peer.py'), '--iface', lab.peer.ifname];
    if (options.send) {
      writeFileSync(join(dir, 'send.bin'), encodeFrames(options.send));
      args.push('--send', join(dir, 'send.bin'));
    }
    if (options.capture) args.push('--capture', join(dir, 'capture.bin'));
    if (options.expect !== undefined) args.push('--expect', String(options.expect));
    if (options.idleMs !== undefined) args.push('--idle-ms', String(options.idleMs));
    if (options.timeoutS !== undefined) args.push('--timeout-s', String(options.timeoutS));
    if (options.burst !== undefined) args.push('--burst', String(options.burst));
    if (options.gapUs !== undefined) args.push('--gap-us', String(options.gapUs));
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => {
        err += d;
        if (/^ready$/m.test(err)) onReady();
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (code === 0) resolve(out);
        else reject(new Error(`peer.py failed (${code ?? signal}): ${err.replace(/^ready\n/m, '').trim()}`));
      });
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { sent: number };
    const captured = options.capture ? decodeFrames(readFileSync(join(dir, 'capture.bin'))) : [];
    return { sent: summary.sent, captured };
  })().finally(() => rmSync(dir, { recursive: true, force: true }));
  // Exited without a ready line: ready rejects (a no-op if it resolved already).
  result.then(() => onFail(new Error('peer.py exited before it was ready')), onFail);
  return { ready, result };
}

/** Wait until `cond` holds, checking every 10 ms, for at most `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** Whether one ping from the peer to the dut's address gets an answer (within a second). */
export function pingWorks(lab: Lab): boolean {
  try {
    lab.exec(lab.peer, 'ping', ['-c', '1', '-W', '1', lab.dut.ipv4]);
    return true;
  } catch {
    return false;
  }
}
