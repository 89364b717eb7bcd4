/**
 * Entry of the capture writer thread: pumps the rings into the file until
 * told to stop, then drains them one last time and closes the file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CaptureWriter, type RingSpec, type WriterOptions } from './writer.js';

interface Data {
  options: WriterOptions;
  rings: RingSpec[];
  /** Float64 slots: written, bytes, filtered, done. */
  stats: SharedArrayBuffer;
}

const data = workerData as Data;
const writer = new CaptureWriter(data.options, data.rings);
const stats = new Float64Array(data.stats);
let stopping = false;
let keepEmpty = true;
parentPort!.on('message', (msg: { type: string; keepEmpty?: boolean }) => {
  if (msg.type !== 'stop') return;
  stopping = true;
  keepEmpty = msg.keepEmpty ?? true;
});

function publish(): void {
  stats[0] = writer.stats.written;
  stats[1] = writer.stats.bytes;
  stats[2] = writer.stats.filtered;
  stats[3] = writer.stats.done ? 1 : 0;
}

(async () => {
  try {
    while (!stopping) {
      const n = await writer.pump();
      publish();
      // Idle: look again shortly (the data path never signals us: no syscall per batch).
      if (n === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await writer.close({ keepEmpty });
    publish();
    parentPort!.postMessage({ type: 'closed', files: writer.stats.files });
  } catch (err) {
    parentPort!.postMessage({ type: 'error', message: String((err as Error)?.message ?? err) });
    // Nothing more to do: let the thread end (its message listener would keep it alive).
    parentPort!.close();
  }
})();
