/**
 * `afxdp run --capture ...`: the flags of the daemon's live capture, turned
 * into the library's CaptureOptions and checked before anything starts (a
 * bad filter or an unwritable file is a usage error, exit 2, with nothing
 * attached yet).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkCaptureOptions, type CaptureOptions } from '../capture/index.js';
import { AfxdpError } from '../errors.js';
import { SteerSyntaxError } from '../steer/index.js';
import { int, str, type Options, type Parsed } from './args.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';

export const CAPTURE_HELP = `      --capture <file|->    Write what the handler saw and did to a pcapng file
                            ('-': stdout, e.g. | tshark -r -): each frame as
                            received and each frame sent as edited, with the
                            verdict and queue in its comment. Never slows the
                            data path: a writer that falls behind drops capture
                            frames (afxdp_capture_dropped_total)
      --capture-filter <e>  Only frames matching the --steer-like expression
      --capture-snaplen <n> Bytes kept of each frame (default: all)
      --capture-count <n>   Stop capturing after n frames
      --capture-max-bytes <n>    ... or after n bytes of frames
      --capture-rotate-bytes <n> Start a new file (out-1.pcapng, ...) when the
                            current one would pass n bytes (tcpdump -C)
      --capture-rotate-files <n> With it: keep at most n files, reusing the
                            oldest names (tcpdump -W)
      --capture-buffer <n>  Bytes of the capture ring per queue and interface
                            (a power of two, default 4194304)
`;

export const CAPTURE_OPTIONS: Options = {
  capture: { type: 'string' },
  'capture-filter': { type: 'string' },
  'capture-snaplen': { type: 'string' },
  'capture-count': { type: 'string' },
  'capture-max-bytes': { type: 'string' },
  'capture-rotate-bytes': { type: 'string' },
  'capture-rotate-files': { type: 'string' },
  'capture-buffer': { type: 'string' },
};

type NumericOption = 'snapLength' | 'maxFrames' | 'maxBytes' | 'rotateBytes' | 'rotateFiles' | 'bufferBytes';

const SUB_OPTIONS: Array<[flag: string, key: NumericOption]> = [
  ['capture-snaplen', 'snapLength'],
  ['capture-count', 'maxFrames'],
  ['capture-max-bytes', 'maxBytes'],
  ['capture-rotate-bytes', 'rotateBytes'],
  ['capture-rotate-files', 'rotateFiles'],
  ['capture-buffer', 'bufferBytes'],
];

/** The capture the flags ask for, or undefined without --capture. */
export function parseCaptureArgs(p: Parsed, stdoutIsTerminal: boolean): CaptureOptions | undefined {
  const path = str(p, 'capture');
  if (path === undefined) {
    const stray = ['capture-filter', ...SUB_OPTIONS.map(([f]) => f)].find((f) => str(p, f) !== undefined);
    if (stray) throw usageError(`--${stray} needs --capture <file|->`);
    return undefined;
  }
  const options: CaptureOptions = { path };
  const filter = str(p, 'capture-filter');
  if (filter !== undefined) options.filter = filter;
  for (const [flag, key] of SUB_OPTIONS) {
    // A snap length is a u32 in pcapng; tcpdump's largest is 262144.
    const n = int(p, flag, undefined, [1, flag === 'capture-snaplen' ? 262144 : 2 ** 40]);
    if (n !== undefined) options[key] = n;
  }
  const buffer = options.bufferBytes;
  if (buffer !== undefined && (buffer < 4096 || buffer > 2 ** 30 || (buffer & (buffer - 1)) !== 0)) {
    throw usageError(`--capture-buffer must be a power of two from 4096 to 1073741824, got ${buffer}`);
  }
  try {
    checkCaptureOptions(options);
  } catch (err) {
    if (!(err instanceof AfxdpError)) throw err;
    const [first, ...rest] = err.message.replace(/^capture /, '').split('\n');
    const flag = err instanceof SteerSyntaxError ? '--capture-filter' : '--capture';
    throw new CliError(ExitCode.Usage, `${flag}: ${first} (see --help)${rest.length ? '\n' + rest.join('\n') : ''}`);
  }
  if (path === '-' && options.rotateBytes !== undefined) throw usageError('--capture-rotate-bytes needs a file: stdout cannot be rotated');
  if (path === '-' && stdoutIsTerminal) throw usageError('--capture - writes binary pcapng to stdout, which is a terminal: pipe it (| tshark -r -) or give a file');
  if (path !== '-') checkWritable(path);
  return options;
}

/** A file the writer thread could not open would only fail after the start: check now. */
function checkWritable(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw usageError(`--capture ${path} is a directory: give a file name`);
  const target = existsSync(path) ? path : dirname(resolve(path));
  try {
    accessSync(target, constants.W_OK);
  } catch (err) {
    throw usageError(`--capture ${path}: cannot write ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
