/**
 * Encryption at rest (docs/persistence.md, "Encryption at rest"): AES-256-GCM from
 * node:crypto for snapshot files and the append-only log's files, optional.
 *
 * Keys. `encryption-key-file` (config / --encryption-key-file / SHOAL_ENCRYPTION_KEY_FILE,
 * CONFIG SET re-reads it) and the environment variable SHOAL_ENCRYPTION_KEYS hold lines
 * `<key-id> <64 hex chars>` (the env value may separate them by commas too); `#` starts a
 * comment. Key ids are integers 1..4294967295 (0 means "plain" in file headers). The
 * LAST line of the key file is the current key (of the env value when there is no key
 * file); every other key is kept to read older files. A key id given twice with two
 * different keys is refused.
 *
 * Per-file keys. No master key encrypts anything itself: each file gets 16 random salt
 * bytes in its header and its own AES key = HKDF-SHA256(master, salt, purpose). So
 * nonces only need to be unique within one file: they are the 96-bit big-endian index
 * of the sealed unit (snapshot section i, log record i), which cannot repeat there.
 *
 *   snapshot   header key id (bytes 12..15) and salt (bytes 40..55); each section's
 *              stored payload = AES-GCM(payload after compression) || 16-byte tag,
 *              AAD = the section header's first 12 bytes (kind, flags, records, raw
 *              length), section flag bit 1 set. CRC32s stay (over the ciphertext).
 *
 *   log file   (base.aof and incr.aof; a RESP stream is no longer readable, so it gets
 *              its own framing)
 *     header (40 bytes)   0 8 magic "SHOALAEF"   8 2 version (1)   10 2 reserved
 *                        12 4 key id   16 16 salt   32 4 reserved   36 4 CRC32 of 0..35
 *     record             0 4 n = plaintext length   4 4 CRC32 of bytes 0..3
 *                        8 n ciphertext   8+n 16 GCM tag        (AAD = bytes 0..7)
 *   One record is one group-commit write of the log (whole commands; a MULTI..EXEC is
 *   always inside one record), or a <= 1 MiB piece of a RESP base. The plaintexts,
 *   concatenated, are exactly the RESP stream a plain file would hold.
 *   Damage: a record cut short by the end of the file (header or body) is a torn tail;
 *   a length whose CRC fails, a tag that fails, or decrypted bytes that are not whole
 *   RESP commands are corruption at that record's offset. Reordered or spliced records
 *   fail the tag (the nonce is the index); cutting whole records off the END cannot be
 *   told from a crash — an append-only log cannot prove its own length.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { ShoalError, ErrorCodes } from '../../shared/errors.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { scanFile, scanRecords, type FileScan, type ScanStop } from './aof-format.js';

export const KEYS_ENV = 'SHOAL_ENCRYPTION_KEYS';
const MAX_KEY_ID = 0xffffffff;
export const TAG_BYTES = 16;
const SALT_BYTES = 16;

export interface Keyring {
  keys: Map<number, Buffer>;
  /** Id of the key new files are written under. */
  currentId: number;
}

// --- key lists ---------------------------------------------------------------------------

/** Parses `<key-id> <64 hex>` lines (newline- or comma-separated); throws an Error naming `source`, the line and what is allowed. */
export function parseKeyList(text: string, source: string, into?: Keyring): Keyring {
  const ring: Keyring = into ?? { keys: new Map(), currentId: 0 };
  let last = 0;
  const lines = text.split(/[\n,]/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, '').trim();
    if (line === '') continue;
    const where = `${source} entry ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new Error(`${where}: expected "<key-id> <64 hex characters>", got ${parts.length} field(s)`);
    const [idText, hex] = parts as [string, string];
    if (!/^[1-9]\d{0,9}$/.test(idText) || Number(idText) > MAX_KEY_ID) {
      throw new Error(`${where}: key id '${idText}' is not allowed (key ids are integers from 1 to ${MAX_KEY_ID})`);
    }
    const id = Number(idText);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new Error(`${where} (key id ${id}): the key must be 64 hex characters (32 bytes, AES-256), got ${hex.length} character(s)${/^[0-9a-fA-F]*$/.test(hex) ? '' : ' with non-hex ones'}`);
    }
    const key = Buffer.from(hex, 'hex');
    const prev = ring.keys.get(id);
    if (prev !== undefined && !prev.equals(key)) throw new Error(`${where}: key id ${id} is given twice with two different keys`);
    ring.keys.set(id, key);
    last = id;
  }
  if (last === 0) throw new Error(`${source} holds no keys (expected lines "<key-id> <64 hex characters>")`);
  ring.currentId = last;
  return ring;
}

/** The keys configured by `file` ('' = none) and SHOAL_ENCRYPTION_KEYS; null when neither. Throws on a bad list or an unreadable file. */
export function readKeyring(file: string, env: string | undefined = process.env[KEYS_ENV]): Keyring | null {
  let ring: Keyring | null = null;
  if (env !== undefined && env.trim() !== '') ring = parseKeyList(env, `env ${KEYS_ENV}`);
  if (file !== '') {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (err) {
      throw new Error(`encryption-key-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    // The key file's last line is the current key even when the env adds older ones.
    ring = parseKeyList(text, `encryption-key-file ${file}`, ring ?? undefined);
  }
  return ring;
}

// The keys of this thread (each worker thread loads its own): set at start-up
// (initKeyring) and by CONFIG SET encryption-key-file.
let active: Keyring | null = null;

export function activeKeyring(): Keyring | null {
  return active;
}

export function setActiveKeyring(ring: Keyring | null): void {
  active = ring;
}

/** Start-up: loads the configured keys; a bad list stops the start with a message naming it. */
export function initKeyring(config: ShoalConfig): Keyring | null {
  try {
    active = readKeyring(config.encryptionKeyFile);
  } catch (err) {
    throw new ShoalError(ErrorCodes.CONFIG, `${(err as Error).message}; refusing to start`);
  }
  return active;
}

/** Key id new files are written under (0 = plain). */
export function currentKeyId(): number {
  return active === null ? 0 : active.currentId;
}

/** The master key `id` for reading `file`; throws naming both when it is not configured. */
export function keyFor(ring: Keyring | null, id: number, file: string, what: string): Buffer {
  if (ring === null) {
    throw new ShoalError(ErrorCodes.PERSISTENCE, `${what} ${file} is encrypted (key id ${id}) but no encryption key is configured (encryption-key-file or ${KEYS_ENV}); refusing to start`);
  }
  const key = ring.keys.get(id);
  if (key === undefined) {
    throw new ShoalError(ErrorCodes.PERSISTENCE, `${what} ${file} is encrypted with key id ${id}, which is not among the configured keys (ids ${[...ring.keys.keys()].join(', ')}); add it to the key file to read it; refusing to start`);
  }
  return key;
}

// --- sealing -----------------------------------------------------------------------------

export type FilePurpose = 'sdb' | 'aof';

/** The AES key of one file: HKDF-SHA256 of the master key with the file's salt. */
export function fileKey(master: Buffer, salt: Uint8Array, purpose: FilePurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, `shoal ${purpose} v1`, 32));
}

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(Math.floor(index / 0x100000000), 4);
  n.writeUInt32BE(index >>> 0, 8);
  return n;
}

/** ciphertext || tag of `plain` under (key, unit index), with additional data `aad`. */
export function seal(key: Uint8Array, index: number, plain: Uint8Array, aad: Uint8Array, out?: Buffer, at = 0): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce(index));
  c.setAAD(aad);
  const dst = out ?? Buffer.allocUnsafe(plain.length + TAG_BYTES);
  const body = c.update(plain);
  body.copy(dst, at);
  const fin = c.final();
  fin.copy(dst, at + body.length);
  c.getAuthTag().copy(dst, at + plain.length);
  return dst;
}

/** The plaintext of `sealed` (ciphertext || tag), or null when the tag does not verify. */
export function unseal(key: Uint8Array, index: number, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const n = sealed.length - TAG_BYTES;
  const d = createDecipheriv('aes-256-gcm', key, nonce(index));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(n));
  try {
    const a = d.update(sealed.subarray(0, n));
    const b = d.final();
    return b.length === 0 ? a : Buffer.concat([a, b]);
  } catch {
    return null;
  }
}

/** What a new snapshot file is sealed with (null when no key is configured). */
export interface SnapshotSeal { keyId: number; salt: Buffer; key: Buffer }

export function newSnapshotSeal(): SnapshotSeal | null {
  if (active === null) return null;
  const salt = newSalt();
  return { keyId: active.currentId, salt, key: fileKey(active.keys.get(active.currentId)!, salt, 'sdb') };
}

// --- the log's encrypted framing ------------------------------------------------------------

export const AOF_MAGIC = Buffer.from('SHOALAEF', 'latin1');
export const AOF_HEADER_BYTES = 40;
const AOF_VERSION = 1;
const RECORD_HEAD = 8;
/** Plaintext per record when a RESP base is sealed in one go. */
const BASE_RECORD = 1 << 20;

/** One encrypted log file being written: its header values and the next record index. */
export class AofCipher {
  readonly key: Buffer;
  constructor(readonly keyId: number, readonly salt: Buffer, master: Buffer, public next = 0) {
    this.key = fileKey(master, salt, 'aof');
  }

  /** A new file under the current key; null when no key is configured. */
  static create(): AofCipher | null {
    if (active === null) return null;
    return new AofCipher(active.currentId, newSalt(), active.keys.get(active.currentId)!);
  }

  header(): Buffer {
    const b = Buffer.alloc(AOF_HEADER_BYTES);
    AOF_MAGIC.copy(b, 0);
    b.writeUInt16LE(AOF_VERSION, 8);
    b.writeUInt32LE(this.keyId, 12);
    this.salt.copy(b, 16);
    b.writeUInt32LE(crc32(b.subarray(0, 36)), 36);
    return b;
  }

  /** One record holding `plain` (the next index). */
  sealRecord(plain: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(RECORD_HEAD + plain.length + TAG_BYTES);
    out.writeUInt32LE(plain.length, 0);
    out.writeUInt32LE(crc32(out.subarray(0, 4)), 4);
    seal(this.key, this.next++, plain, out.subarray(0, RECORD_HEAD), out, RECORD_HEAD);
    return out;
  }

  /** A whole file: header, then `plain` in records of at most 1 MiB. */
  sealFile(plain: Uint8Array): Buffer {
    const parts = [this.header()];
    for (let p = 0; p < plain.length; p += BASE_RECORD) parts.push(this.sealRecord(plain.subarray(p, Math.min(plain.length, p + BASE_RECORD))));
    return Buffer.concat(parts);
  }
}

/** A complete log file holding `plain` (RESP): sealed under the current key, or `plain` itself when no key is configured. */
export function aofFileBytes(plain: Uint8Array): Uint8Array {
  const c = AofCipher.create();
  return c === null ? plain : c.sealFile(plain);
}

export interface AofHeader { keyId: number; salt: Buffer }

export function decodeAofHeader(b: Buffer): AofHeader | string {
  if (!b.subarray(0, 8).equals(AOF_MAGIC)) return 'not an encrypted Shoal log file (bad magic)';
  if (b.readUInt32LE(36) !== crc32(b.subarray(0, 36))) return 'encrypted log header checksum mismatch';
  const v = b.readUInt16LE(8);
  if (v !== AOF_VERSION) return `unsupported encrypted log format version ${v}`;
  return { keyId: b.readUInt32LE(12), salt: Buffer.from(b.subarray(16, 32)) };
}

/** A scan of a log file, plain or encrypted; `enc` describes an encrypted one (records = sealed records read). */
export interface AofFileScan extends FileScan {
  enc: { keyId: number; salt: Buffer; records: number } | null;
}

const READ_CHUNK = 8 * 1024 * 1024;

/**
 * Scans a log file of either kind, calling visit for every command (as scanFile does;
 * for an encrypted file `offset` is the file offset of the record holding it). Throws
 * a ShoalError naming the file when it is encrypted and its key is not configured.
 */
export async function scanAofFile(file: string, ring: Keyring | null, visit: (argv: Buffer[], offset: number) => void, onProgress?: (done: number, total: number) => void): Promise<AofFileScan> {
  const fh = await open(file, 'r');
  let head: Buffer;
  let size: number;
  try {
    size = (await fh.stat()).size;
    head = Buffer.alloc(Math.min(size, AOF_HEADER_BYTES));
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const n = Math.min(head.length, AOF_MAGIC.length);
  if (n === 0 || !head.subarray(0, n).equals(AOF_MAGIC.subarray(0, n))) {
    return { ...(await scanFile(file, visit, onProgress)), enc: null };
  }
  if (head.length < AOF_HEADER_BYTES) {
    // The header itself was cut short (a crash while the file was being created).
    return { size, validEnd: 0, stop: { kind: 'incomplete', offset: 0 }, openMulti: -1, records: 0, enc: null };
  }
  const h = decodeAofHeader(head);
  if (typeof h === 'string') return { size, validEnd: 0, stop: { kind: 'corrupt', offset: 0, record: 0, message: h }, openMulti: -1, records: 0, enc: null };
  const key = fileKey(keyFor(ring, h.keyId, file, 'append only file'), h.salt, 'aof');
  return scanSealed(file, size, h, key, visit, onProgress);
}

async function scanSealed(file: string, size: number, h: AofHeader, key: Buffer, visit: (argv: Buffer[], offset: number) => void, onProgress?: (done: number, total: number) => void): Promise<AofFileScan> {
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.alloc(0);
    let bufStart = AOF_HEADER_BYTES; // file offset of buf[0]
    let bufEnd = 0; // bytes valid in buf
    let readPos: number;
    /** Makes file bytes [off, off+n) available in buf; false at EOF. */
    const ensure = async (off: number, n: number): Promise<boolean> => {
      if (off + n > size) return false;
      if (off >= bufStart && off + n <= bufStart + bufEnd) return true;
      const keep = off >= bufStart && off < bufStart + bufEnd ? bufStart + bufEnd - off : 0;
      const next = Buffer.allocUnsafe(Math.max(n, READ_CHUNK));
      if (keep > 0) buf.copy(next, 0, off - bufStart, off - bufStart + keep);
      buf = next;
      bufStart = off;
      bufEnd = keep;
      readPos = bufStart + bufEnd;
      while (bufEnd < n) {
        const { bytesRead } = await fh.read(buf, bufEnd, Math.min(buf.length - bufEnd, size - readPos), readPos);
        if (bytesRead === 0) return false;
        bufEnd += bytesRead;
        readPos += bytesRead;
      }
      return true;
    };
    let off = AOF_HEADER_BYTES;
    let index = 0;
    let commands = 0;
    let carry: Buffer = Buffer.alloc(0);
    let openMulti = -1;
    let stop: ScanStop = { kind: 'ok' };
    let recOff = off;
    const onCommand = (argv: Buffer[]): void => {
      commands++;
      const a0 = argv[0]!;
      if (a0.length === 5 && a0.toString('latin1').toLowerCase() === 'multi') openMulti = recOff;
      else if (a0.length === 4 && a0.toString('latin1').toLowerCase() === 'exec') openMulti = -1;
      visit(argv, recOff);
    };
    const corrupt = (at: number, message: string): ScanStop => ({ kind: 'corrupt', offset: at, record: at, message });
    while (off < size) {
      recOff = off;
      if (!(await ensure(off, RECORD_HEAD))) {
        stop = { kind: 'incomplete', offset: off };
        break;
      }
      const hp = off - bufStart;
      const len = buf.readUInt32LE(hp);
      if (buf.readUInt32LE(hp + 4) !== crc32(buf.subarray(hp, hp + 4))) {
        stop = corrupt(off, 'encrypted record header checksum mismatch');
        break;
      }
      if (!(await ensure(off, RECORD_HEAD + len + TAG_BYTES))) {
        stop = { kind: 'incomplete', offset: off };
        break;
      }
      const p = off - bufStart;
      const plain = unseal(key, index, buf.subarray(p + RECORD_HEAD, p + RECORD_HEAD + len + TAG_BYTES), buf.subarray(p, p + RECORD_HEAD));
      if (plain === null) {
        stop = corrupt(off, `record ${index} fails authentication (AES-GCM tag mismatch): its bytes were changed, or key id ${h.keyId} is not the key that wrote it`);
        break;
      }
      const data = carry.length === 0 ? plain : Buffer.concat([carry, plain]);
      const r = scanRecords(data, 0, data.length, onCommand);
      if (r.stop.kind === 'corrupt') {
        stop = corrupt(off, `decrypted record ${index} is not valid RESP: ${r.stop.message}`);
        break;
      }
      carry = data.subarray(r.consumed);
      index++;
      off += RECORD_HEAD + len + TAG_BYTES;
      onProgress?.(off, size);
    }
    // Sealed records hold whole commands (and whole MULTI..EXEC blocks): anything left over is damage, not a torn write.
    if (stop.kind !== 'corrupt' && carry.length > 0) stop = corrupt(off, 'the decrypted log ends inside a command');
    else if (stop.kind !== 'corrupt' && openMulti !== -1) stop = corrupt(openMulti, 'the decrypted log ends with a MULTI without EXEC');
    const validEnd = stop.kind === 'ok' ? size : stop.kind === 'incomplete' ? stop.offset : stop.record;
    return { size, validEnd, stop, openMulti: -1, records: commands, enc: { keyId: h.keyId, salt: h.salt, records: index } };
  } finally {
    await fh.close();
  }
}
