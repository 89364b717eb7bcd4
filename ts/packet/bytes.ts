/**
 * Big-endian reads and writes on a Uint8Array.
 *
 * Manual byte math instead of a DataView: a DataView per packet would allocate,
 * and one shared DataView would tie every accessor to one buffer. V8 inlines
 * these into the caller, so they cost the same as hand-written shifts.
 * None of them checks bounds: callers check once per header, not per field.
 */

export function readU16BE(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Unsigned 32-bit value (0..2^32-1). */
export function readU32BE(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Signed 32-bit value: the same bits as `readU32BE`, but always a small
 * integer to V8. An unsigned value at or above 2^31 is a heap number, boxed
 * (allocated) whenever it crosses a call V8 did not inline; use this where
 * only the bits matter (checksum deltas, comparisons with `| 0` values).
 */
export function readI32BE(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

export function writeU16BE(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function writeU32BE(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** True if `len` bytes at `a[ao]` equal those at `b[bo]`. */
export function bytesEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Swap `len` bytes at `b[x]` with those at `b[y]` (non-overlapping), in place. */
export function swapBytes(b: Uint8Array, x: number, y: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const t = b[x + i];
    b[x + i] = b[y + i];
    b[y + i] = t;
  }
}

/**
 * Find an option in a type-length-value list as IPv4 and TCP both use it
 * (kind 0 ends the list, kind 1 is a one-byte no-op, every other option
 * carries a length byte counting kind and length). Returns the offset of the
 * first option of `kind` that lies wholly in `[start, end)`, or -1 if absent
 * or if the list is malformed before it (a length below 2 or past `end`).
 */
export function findTlvOption(b: Uint8Array, start: number, end: number, kind: number): number {
  let o = start;
  while (o < end) {
    const k = b[o];
    if (k === kind && (k <= 1 || (o + 1 < end && b[o + 1] >= 2 && o + b[o + 1] <= end))) return o;
    if (k === 0) return -1;
    if (k === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end || b[o + 1] < 2) return -1;
    o += b[o + 1];
  }
  return -1;
}
