/**
 * Format-sniffing entry point: read a capture without knowing whether it is
 * pcap or pcapng.
 */
import { ByteReader, type CaptureRecord, type CaptureSource } from './capture-io.js';
import { PacketError } from './errors.js';
import { PcapReader, isPcapMagic } from './pcap.js';
import { PcapngReader, isPcapngMagic } from './pcapng.js';

/** Iterate over the records of a pcap or pcapng file, chosen by its magic number. */
export async function* readCapture(source: CaptureSource): AsyncGenerator<CaptureRecord> {
  const r = new ByteReader(source);
  if (!(await r.ensure(4))) {
    await r.close();
    throw new PacketError('ERR_CAPTURE_BAD_MAGIC', 'input too short to be a capture file');
  }
  const magic = r.peek(4);
  let reader: AsyncIterable<CaptureRecord>;
  if (isPcapngMagic(magic)) reader = new PcapngReader(r);
  else if (isPcapMagic(magic)) reader = new PcapReader(r);
  else {
    await r.close();
    throw new PacketError('ERR_CAPTURE_BAD_MAGIC', 'neither a pcap nor a pcapng file');
  }
  yield* reader;
}
