/**
 * afxdp/packet: zero-allocation header views, checksums, in-place edits,
 * frame builders, pcap/pcapng and address helpers. Works on any Uint8Array
 * (a live packet, a pcap record, a test fixture) and needs no privileges.
 *
 * Re-exported by the main entry, so no name here may clash with the core API
 * (`open`, `Port`, `Verdict`, `Packet`, `stats`).
 */
export * from './errors.js';
export * from './bytes.js';
export * from './addr.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './checksum.js';
export * from './parser.js';
export * from './edit.js';
export * from './build.js';
export { LinkType, MAX_RECORD_BYTES, type CaptureRecord, type CaptureSink, type CaptureSource, type WriteRecordOptions } from './capture-io.js';
export * from './pcap.js';
export * from './pcapng.js';
export * from './capture.js';
