import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/**
 * Reads selected entries of a jar (ZIP) file: enough to copy a few resources out of jena-core.jar
 * without requiring `unzip` or the JDK's `jar` tool on the machine (a JRE is all Jena needs).
 */
export function readZipEntries(file: string, wanted: (name: string) => boolean): Map<string, Buffer> {
  const zip = readFileSync(file);
  const eocd = findEndOfCentralDirectory(zip, file);
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw new Error(`${file} is a ZIP64 archive, which this reader does not support`);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file} is not a readable jar: bad central directory entry ${i}`);
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const localHeader = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/') || !wanted(name)) continue;
    // The local header repeats the name and has its own extra field; the data follows it.
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) out.set(name, Buffer.from(data));
    else if (method === 8) out.set(name, inflateRawSync(data));
    else throw new Error(`${file}: entry ${name} uses ZIP method ${method}, which this reader does not support`);
  }
  return out;
}

function findEndOfCentralDirectory(zip: Buffer, file: string): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) return i;
  }
  throw new Error(`${file} is not a jar (no ZIP end-of-central-directory record); reinstall libapache-jena-java`);
}
