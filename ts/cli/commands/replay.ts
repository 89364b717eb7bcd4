/**
 * `afxdp replay`: a handler module offline over a capture, with no root and
 * no NIC. Writes the frames it sent (tx and forward, as edited) to a pcapng
 * with the verdict of every input frame as a packet comment, and prints the
 * counts per verdict.
 */
import { flag, parse, str, strs, type Options } from '../args.js';
import { CliError, ExitCode, oneLine, usageError } from '../exit-codes.js';
import { handlerPath, loadHandlerModule } from '../../handler/module.js';
import { HandlerHarness, type FrameOutcome } from '../../replay.js';
import { readCapture } from '../../packet/capture.js';
import { PcapngWriter } from '../../packet/pcapng.js';
import { LinkType } from '../../packet/capture-io.js';
import type { HandlerContext } from '../../handler/context.js';

export const REPLAY_HELP = `Usage: afxdp replay <handler> --in <capture.pcap|.pcapng> [--out <result.pcapng>] [options]

Run a handler module over a capture offline: no root, no NIC, the same
module as \`afxdp run\` (setup(ctx) and teardown() included). Every input
frame arrives on the first --interface.

The output (pcapng) holds, in input order, every input frame with its
verdict as a packet comment ("afxdp: #12 verdict=tx"): frames the handler
sent (tx, forward) as edited, on the interface they went out of, frames
passed to the kernel (Verdict.Pass) as edited on an interface named "kernel",
and dropped frames as they arrived on an interface named "dropped" (leave
them out with --sent-only). Counts per verdict go to stdout.

Options:
      --in <file>          Capture to read (pcap or pcapng, Ethernet)
      --out <file>         pcapng to write (optional)
  -i, --interface <name>   Port names for the handler (repeat; default eth0);
                           ctx.ports[name] for forwarding
      --sent-only          Only write the frames the handler sent
      --json               Print counts and every verdict as JSON
  -h, --help               This help
`;

const OPTIONS: Options = {
  in: { type: 'string' },
  out: { type: 'string' },
  interface: { type: 'string', short: 'i', multiple: true },
  'sent-only': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function comment(o: FrameOutcome): string {
  let c = `afxdp: #${o.index} verdict=${o.verdict}`;
  if (o.verdict === 'forward') c += ` out=${o.out}`;
  if (o.error) c += ` error=${JSON.stringify(o.error)}`;
  return c;
}

export async function replayCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS);
  if (flag(p, 'help')) {
    process.stdout.write(REPLAY_HELP);
    return ExitCode.Ok;
  }
  if (p.positionals.length !== 1) throw usageError('afxdp replay <handler> --in <capture>');
  const input = str(p, 'in');
  if (!input) throw usageError('missing --in <capture.pcap|.pcapng>');
  const output = str(p, 'out');
  const interfaces = strs(p, 'interface');
  const sentOnly = flag(p, 'sent-only');
  const path = handlerPath(p.positionals[0]!);
  const mod = await loadHandlerModule<HandlerContext>(path);
  const harness = new HandlerHarness({ interfaces });
  const logs: string[] = [];
  try {
    await mod.setup?.({
      queue: 0,
      interfaces: harness.interfaces,
      ports: harness.ports as unknown as HandlerContext['ports'],
      generation: 0,
      log: (m: string) => process.stderr.write(`afxdp replay: ${m}\n`),
    });
  } catch (err) {
    throw new CliError(ExitCode.HandlerLoad, `handler ${path}: setup() threw: ${oneLine(String((err as Error)?.message ?? err))}`);
  }

  let writer: PcapngWriter | null = null;
  const ifIds = new Map<string, number>();
  if (output) {
    writer = new PcapngWriter(output, { application: 'afxdp replay', comment: `afxdp replay of ${input} through ${path}`, interfaces: [] });
    for (const name of harness.interfaces) ifIds.set(name, writer.addInterface({ name, linkType: LinkType.Ethernet }));
    if (!sentOnly) ifIds.set('dropped', writer.addInterface({ name: 'dropped', description: 'frames the handler dropped, as they arrived', linkType: LinkType.Ethernet }));
    ifIds.set('kernel', writer.addInterface({ name: 'kernel', description: 'frames passed to the kernel stack (Verdict.Pass), as edited', linkType: LinkType.Ethernet }));
  }
  const verdicts: Array<{ verdict: string; out?: string; error?: string }> = [];
  let records;
  try {
    records = readCapture(input);
    for await (const rec of records) {
      if (rec.linkType !== LinkType.Ethernet) {
        throw new CliError(ExitCode.Usage, `${input}: frame ${verdicts.length} has link type ${rec.linkType}; only Ethernet (1) captures can be replayed`);
      }
      const o = harness.run(mod.handler, rec.data.subarray(0, Math.min(rec.data.length, harness.maxLength)));
      const v: { verdict: string; out?: string; error?: string } = { verdict: o.verdict };
      if (o.verdict === 'forward') v.out = o.out!;
      if (o.error) v.error = o.error;
      verdicts.push(v);
      if (writer) {
        if (o.frame) await writer.write(o.frame, { interfaceId: ifIds.get(o.out ?? 'kernel')!, timestamp: rec.timestamp, comment: comment(o) });
        else if (!sentOnly) await writer.write(rec.data, { interfaceId: ifIds.get('dropped')!, timestamp: rec.timestamp, comment: comment(o), originalLength: rec.originalLength });
      }
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new CliError(ExitCode.Usage, `--in ${input}: no such file`);
    throw new CliError(ExitCode.Failure, `--in ${input}: ${oneLine(e.message ?? String(err))}`);
  } finally {
    await writer?.close();
    try {
      await mod.teardown?.();
    } catch (err) {
      logs.push(`teardown() threw: ${oneLine(String((err as Error)?.message ?? err))}`);
    }
  }
  for (const l of logs) process.stderr.write(`afxdp replay: ${l}\n`);
  const c = harness.counts;
  if (flag(p, 'json')) {
    process.stdout.write(`${JSON.stringify({ counts: c, verdicts })}\n`);
  } else {
    process.stdout.write(`frames ${c.frames}: tx ${c.tx}, forward ${c.forward}, pass ${c.pass}, drop ${c.drop} (handler errors ${c.handlerErrors})\n`);
    if (output) process.stdout.write(`wrote ${sentOnly ? c.tx + c.forward + c.pass : c.frames} frames to ${output}\n`);
  }
  return ExitCode.Ok;
}
