/**
 * Key → hash slot, as Redis Cluster does it: CRC16 (XMODEM: polynomial 0x1021, initial
 * value 0, no reflection, no final XOR) of the key, modulo 16384.
 *
 * Hash tags: if the key has a `{`, and a `}` somewhere after that first `{`, and at least
 * one byte between them, only those bytes are hashed. So `{user1000}.following` and
 * `{user1000}.followers` share a slot, `foo{}{bar}` hashes the whole key (the first tag
 * is empty), `foo{{bar}}zap` hashes `{bar`, and `foo{bar}{zap}` hashes `bar`.
 */

/** Number of hash slots in a cluster. */
export const SLOT_COUNT = 16384;

const OPEN = 0x7b; // '{'
const CLOSE = 0x7d; // '}'

/** CRC16/XMODEM lookup table, one entry per byte value, built once at load. */
const CRC16_TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

/** CRC16/XMODEM of bytes [start, end). */
export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ buf[i]!) & 0xff]!;
  return crc;
}

/** The hash slot of the key in bytes [start, end) of `key`, hash tags honoured. */
export function keySlot(key: Uint8Array, start = 0, end = key.length): number {
  for (let open = start; open < end; open++) {
    if (key[open] !== OPEN) continue;
    // Only the first '{' counts; the tag runs to the first '}' after it.
    for (let close = open + 1; close < end; close++) {
      if (key[close] === CLOSE) {
        if (close > open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
        break;
      }
    }
    break;
  }
  return crc16(key, start, end) & (SLOT_COUNT - 1);
}
