/**
 * The XDP programs on one interface and who holds them, for `afxdp doctor`.
 * afxdp needs an interface to itself (it cannot join a libxdp dispatcher
 * yet), so when something else is there, doctor names it and the tool that
 * removes it. Names tell libxdp's programs apart the same way the Rust core
 * does for ERR_XDP_PROGRAM_BUSY (crates/afxdp-core/src/bpf/libxdp.rs).
 */
import { execFileSync } from 'node:child_process';

export type XdpKind = 'afxdp' | 'libxdp-dispatcher' | 'xdp-filter' | 'other';

export interface XdpProgram {
  id: number;
  name: string | null;
  mode: 'native' | 'skb' | 'offload';
  kind: XdpKind;
  /** The bpf_link holding it, or null when attached through netlink (it outlives its loader). */
  linkId: number | null;
}

/** `ip -d -j link show` `xdp` member. */
export interface IpXdp {
  prog?: { id: number; name?: string };
  attached?: Array<{ mode?: number; prog?: { id: number; name?: string } }>;
  mode?: number;
}

/** `bpftool -j link show` entry. */
export interface BpftoolLink {
  id: number;
  type?: string;
  prog_id?: number;
}

export function xdpKind(name: string | null): XdpKind {
  if (name === null) return 'other';
  if (name.startsWith('afxdp_')) return 'afxdp';
  if (name === 'xdp_dispatcher') return 'libxdp-dispatcher';
  if (name.startsWith('xdpfilt_')) return 'xdp-filter';
  return 'other';
}

// IFLA_XDP_ATTACHED values (<linux/if_link.h>).
const MODES: Record<number, XdpProgram['mode']> = { 1: 'native', 2: 'skb', 3: 'offload' };

/** The programs in `ip -d -j link show`'s `xdp` member, with their bpf_links. Pure. */
export function parseXdp(xdp: IpXdp | undefined, links: BpftoolLink[], nameOf: (id: number) => string | null = () => null): XdpProgram[] {
  if (!xdp) return [];
  const attached = xdp.attached ?? (xdp.prog ? [{ mode: xdp.mode, prog: xdp.prog }] : []);
  const out: XdpProgram[] = [];
  for (const a of attached) {
    if (!a.prog) continue;
    const name = a.prog.name ?? nameOf(a.prog.id);
    const link = links.find((l) => l.type === 'xdp' && l.prog_id === a.prog!.id);
    out.push({ id: a.prog.id, name, mode: MODES[a.mode ?? 0] ?? 'skb', kind: xdpKind(name), linkId: link?.id ?? null });
  }
  return out;
}

/** How to take `p` off `ifname`, with the tool that put it there where its name tells. */
export function removalHint(p: XdpProgram, ifname: string): string {
  switch (p.kind) {
    case 'libxdp-dispatcher':
      return `a libxdp multi-program dispatcher: \`xdp-loader status ${ifname}\` lists its programs, \`xdp-loader unload --all ${ifname}\` removes them`;
    case 'xdp-filter':
      return `xdp-filter's program: \`xdp-filter unload ${ifname}\` removes it`;
    case 'afxdp':
      return 'another afxdp process serves this interface: see `afxdp status`; stop that daemon, or run your handler in it';
    default: {
      if (p.linkId !== null) return `held by bpf_link ${p.linkId} of a running process: stop it, or \`bpftool link detach id ${p.linkId}\``;
      const kw = p.mode === 'native' ? 'xdpdrv' : p.mode === 'offload' ? 'xdpoffload' : 'xdpgeneric';
      return `detach it (\`ip link set dev ${ifname} ${kw} off\`) if nothing needs it`;
    }
  }
}

/** One line per program, for doctor's detail. */
export function describeProgram(p: XdpProgram): string {
  const holder = p.linkId !== null ? `bpf_link ${p.linkId}` : 'netlink';
  return `${p.name ?? '?'} (id ${p.id}, ${p.mode} mode, attached through ${holder})`;
}

function tryJson<T>(cmd: string, args: string[]): T | null {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim() ? (JSON.parse(out) as T) : null;
  } catch {
    return null;
  }
}

/** The XDP programs on `ifname` in this network namespace (best effort: [] when `ip` fails). */
export function xdpPrograms(ifname: string, nameOf?: (id: number) => string | null): XdpProgram[] {
  const link = tryJson<Array<{ xdp?: IpXdp }>>('ip', ['-d', '-j', 'link', 'show', 'dev', ifname])?.[0];
  if (!link?.xdp) return [];
  const links = tryJson<BpftoolLink[]>('bpftool', ['-j', 'link', 'show']) ?? [];
  return parseXdp(link.xdp, Array.isArray(links) ? links : [], nameOf);
}
