/**
 * One UMEM (native) and the JavaScript views over it, shared by the ports
 * opened on it. Created once per UMEM: V8 aborts when two ArrayBuffers
 * register the same memory, so the buffer and its views live here.
 */
import { native } from './errors.js';
import { binding, type NativeUmem } from './native.js';

let nextUmemId = 1;

export class UmemHandle {
  readonly id = nextUmemId++;
  readonly native: NativeUmem;
  readonly bytes: Uint8Array;
  readonly frameSize: number;
  #openPorts = 0;

  constructor(frameSize: number | undefined, frames: number | undefined) {
    const init: { frameSize?: number; frames?: number } = {};
    if (frameSize !== undefined) init.frameSize = frameSize;
    if (frames !== undefined) init.frames = frames;
    this.native = native(() => new binding.NativeUmem(init));
    try {
      this.bytes = new Uint8Array(native(() => this.native.buffer()));
    } catch (err) {
      native(() => this.native.close());
      throw err;
    }
    this.frameSize = this.native.frameSize;
  }

  portOpened(): void {
    this.#openPorts++;
  }

  /** Frees the UMEM when its last port closes. */
  portClosed(): void {
    if (--this.#openPorts === 0) this.close();
  }

  /**
   * Close the sockets and free the UMEM now, not at garbage collection:
   * the native side detaches the ArrayBuffer under `bytes` (every view of
   * it, kept by a handler or not, then has length 0 and reads as
   * `undefined`), and only then unmaps the memory.
   */
  close(): void {
    native(() => this.native.close(this.bytes.buffer as ArrayBuffer));
  }

  get openPorts(): number {
    return this.#openPorts;
  }
}
