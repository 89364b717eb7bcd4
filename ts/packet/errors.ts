/**
 * Errors and statuses of the packet toolkit.
 *
 * Two kinds of failure, kept apart on purpose:
 * - the hot path (parsing, header accessors, in-place edits) never throws: it
 *   reports a `ParseStatus` or a sentinel (-1), because an exception per bad
 *   packet would be both slow and an easy denial of service;
 * - everything else (address parsing, builders, pcap/pcapng files) throws a
 *   `PacketError` whose `code` is stable, so callers can match on it.
 */

/** Stable codes carried by `PacketError.code`. Never renamed once published. */
export type PacketErrorCode =
  /** Text is not a valid MAC, IPv4 or IPv6 address. */
  | 'ERR_INVALID_ADDRESS'
  /** Text is not a valid CIDR prefix (address/length). */
  | 'ERR_INVALID_CIDR'
  /** A builder option is out of range (port > 65535, mixed families...). */
  | 'ERR_INVALID_BUILD_OPTION'
  /** The input does not start with a pcap or pcapng magic number. */
  | 'ERR_CAPTURE_BAD_MAGIC'
  /** The capture ends in the middle of a header, record or block. */
  | 'ERR_CAPTURE_TRUNCATED'
  /** A record or block is inconsistent (length too small/large, unknown interface). */
  | 'ERR_CAPTURE_BAD_RECORD'
  /** A pcap/pcapng version or feature this reader does not handle. */
  | 'ERR_CAPTURE_UNSUPPORTED'
  /** A writer was used after close(), or its sink failed. */
  | 'ERR_CAPTURE_WRITER_CLOSED';

/** Error thrown by the non-hot-path parts of the toolkit; match on `code`. */
export class PacketError extends Error {
  readonly code: PacketErrorCode;
  constructor(code: PacketErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'PacketError';
    this.code = code;
  }
}

/**
 * Result of parsing or validating a header. Numeric so that storing it on a
 * reused cursor never allocates.
 */
export enum ParseStatus {
  /** Every header that was recognised is complete and consistent. */
  Ok = 0,
  /** The frame (or the `length` given) ends inside a header or datagram. */
  Truncated = 1,
  /** A field is impossible: bad IHL, a length shorter than its header, an
   * IPv6 extension chain longer than the limit, ... */
  Malformed = 2,
  /** The bytes are not this protocol (wrong version nibble, wrong type). Only
   * returned by the per-header validators, never by `PacketParser.parse`. */
  NotThisProtocol = 3,
}
