/**
 * Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
 *
 * A bitmap is a plain TYPE_STRING item. Bit n is bit 7 - (n % 8) of byte n / 8 (most
 * significant bit first), as Redis numbers them. Writes grow the value in place with
 * zero bytes (ks.resizeValue, geometric so repeated SETBITs are amortised O(1)) and
 * mark the item raw-encoded, as Redis's dbUnshareStringValue does.
 *
 * BITFIELD values up to 48 bits (with an increment below 2^52) are plain numbers;
 * wider ones use BigInt, the only place 64-bit math is needed.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_STRING } from '../arena/layout.js';
import { ENCODING_RAW } from '../keyspace.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { argIs, int64OrReply } from './args.js';

const ERR_OFFSET = 'ERR bit offset is not an integer or out of range';
const ERR_BIT = 'ERR bit is not an integer or out of range';
const ERR_BITFIELD_TYPE = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';

/** Set bits per byte value. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

function popcount(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n += POPCOUNT[buf[i]!]!;
  return n;
}

/**
 * A bit offset argument (Redis getBitOffsetFromArgument): `#n` means n * bits when
 * hash is allowed. Returns -1 after replying the error.
 */
function bitOffsetOrReply(ctx: CommandContext, arg: Buffer, hash: boolean, bits: number): number {
  const useHash = hash && bits > 0 && arg.length > 0 && arg[0] === 35;
  let v = parseInt64(useHash ? arg.subarray(1) : arg);
  if (v === null) {
    ctx.out.error(ERR_OFFSET);
    return -1;
  }
  if (useHash) {
    const p = typeof v === 'number' ? v * bits : null;
    // Redis multiplies in int64 (wrapping); only huge indexes get there.
    v = p !== null && Number.isSafeInteger(p) ? p : BigInt.asIntN(64, BigInt(v) * BigInt(bits));
    if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) v = Number(v);
  }
  if (typeof v === 'bigint' || v < 0 || Math.floor(v / 8) >= ctx.server.config.protoMaxBulkLen) {
    ctx.out.error(ERR_OFFSET);
    return -1;
  }
  return v;
}

/**
 * The string item of key grown (zero-filled) to at least `bytes` bytes, created when
 * missing, marked raw (Redis lookupStringForBitCommand). 0 after replying an error.
 */
function stringForBits(ctx: CommandContext, key: Buffer, bytes: number): number {
  const ks = ctx.ks;
  let ref = ks.find(key);
  if (ref === 0) {
    ref = ks.write(key, TYPE_STRING, bytes, 0, 0);
    if (ref === 0) {
      ctx.out.error(WireErrors.oom);
      return 0;
    }
    const s = ks.valueStart(ref);
    ks.page(ref).fill(0, s, s + bytes);
  } else {
    if (ks.type(ref) !== TYPE_STRING) {
      ctx.out.error(WireErrors.wrongType);
      return 0;
    }
    const old = ks.valueLen(ref);
    if (old < bytes) {
      ref = ks.resizeValue(key, ref, bytes);
      if (ref === 0) {
        ctx.out.error(WireErrors.oom);
        return 0;
      }
      const s = ks.valueStart(ref);
      ks.beginWrite(ref);
      ks.page(ref).fill(0, s + old, s + bytes);
      ks.endWrite(ref);
    }
  }
  ks.setEncoding(ref, ENCODING_RAW);
  return ref;
}

/** SETBIT key offset value */
function setbit(ctx: CommandContext, argv: Buffer[]): void {
  const off = bitOffsetOrReply(ctx, argv[2]!, false, 0);
  if (off < 0) return;
  const on = parseInt64(argv[3]!);
  if (on !== 0 && on !== 1) return ctx.out.error(ERR_BIT);
  const byte = Math.floor(off / 8);
  const ref = stringForBits(ctx, argv[1]!, byte + 1);
  if (ref === 0) return;
  const ks = ctx.ks;
  const page = ks.page(ref);
  const at = ks.valueStart(ref) + byte;
  const mask = 1 << (7 - (off % 8));
  const old = page[at]!;
  ks.beginWrite(ref);
  page[at] = on === 1 ? old | mask : old & ~mask;
  ks.endWrite(ref);
  ctx.out.raw(old & mask ? Replies.one : Replies.zero);
}

/** GETBIT key offset */
function getbit(ctx: CommandContext, argv: Buffer[]): void {
  const off = bitOffsetOrReply(ctx, argv[2]!, false, 0);
  if (off < 0) return;
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
  const byte = Math.floor(off / 8);
  if (byte >= ks.valueLen(ref)) return ctx.out.raw(Replies.zero);
  const v = ks.page(ref)[ks.valueStart(ref) + byte]! & (1 << (7 - (off % 8)));
  ctx.out.raw(v ? Replies.one : Replies.zero);
}

/** A long long argument as a number (int64 beyond 2^53 only needs its sign and size here). */
function rangeArgOrReply(ctx: CommandContext, arg: Buffer): number | undefined {
  const v = int64OrReply(ctx.out, arg);
  return v === undefined ? undefined : Number(v);
}

/** BYTE|BIT unit argument: 1 = bit, 0 = byte, -1 after replying a syntax error. */
function unitOrReply(ctx: CommandContext, arg: Buffer): number {
  if (argIs(arg, 'bit')) return 1;
  if (argIs(arg, 'byte')) return 0;
  ctx.out.error(WireErrors.syntax);
  return -1;
}

/** BITCOUNT key [start end [BYTE | BIT]] */
function bitcount(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  // Redis 7.0 looks the key up before it parses the range.
  const ref = ks.lookupRead(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
  const len = ks.valueLen(ref);
  let start: number;
  let end: number;
  let firstMask = 0;
  let lastMask = 0;
  if (argv.length === 4 || argv.length === 5) {
    const a = rangeArgOrReply(ctx, argv[2]!);
    if (a === undefined) return;
    const b = rangeArgOrReply(ctx, argv[3]!);
    if (b === undefined) return;
    start = a;
    end = b;
    if (start < 0 && end < 0 && start > end) return ctx.out.raw(Replies.zero);
    let isBit = 0;
    if (argv.length === 5) {
      isBit = unitOrReply(ctx, argv[4]!);
      if (isBit < 0) return;
    }
    const total = isBit ? len * 8 : len;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
    if (isBit && start <= end) {
      firstMask = ~((1 << (8 - (start % 8))) - 1) & 0xff;
      lastMask = (1 << (7 - (end % 8))) - 1;
      start = Math.floor(start / 8);
      end = Math.floor(end / 8);
    }
  } else if (argv.length === 2) {
    start = 0;
    end = len - 1;
  } else return ctx.out.error(WireErrors.syntax);
  if (start > end) return ctx.out.raw(Replies.zero);
  const page = ks.page(ref);
  const s = ks.valueStart(ref);
  let count = popcount(page, s + start, s + end + 1);
  if (firstMask) count -= POPCOUNT[page[s + start]! & firstMask]!;
  if (lastMask) count -= POPCOUNT[page[s + end]! & lastMask]!;
  ctx.out.integer(count);
}

/** BITPOS key bit [start [end [BYTE | BIT]]] */
function bitpos(ctx: CommandContext, argv: Buffer[]): void {
  const bitArg = int64OrReply(ctx.out, argv[2]!);
  if (bitArg === undefined) return;
  if (bitArg !== 0 && bitArg !== 1) return ctx.out.error('ERR The bit argument must be 1 or 0.');
  const bit = bitArg;
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  // A missing key is an infinite run of zero bits.
  if (ref === 0) return ctx.out.integer(bit ? -1 : 0);
  if (ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
  const len = ks.valueLen(ref);
  let isBit = 0;
  let endGiven = false;
  // The inclusive bit range searched.
  let from: number;
  let to: number;
  if (argv.length >= 4 && argv.length <= 6) {
    const a = rangeArgOrReply(ctx, argv[3]!);
    if (a === undefined) return;
    if (argv.length === 6) {
      isBit = unitOrReply(ctx, argv[5]!);
      if (isBit < 0) return;
    }
    let start = a;
    let end: number;
    if (argv.length >= 5) {
      const b = rangeArgOrReply(ctx, argv[4]!);
      if (b === undefined) return;
      end = b;
      endGiven = true;
    } else end = len - 1;
    const total = isBit ? len * 8 : len;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
    if (start > end) return ctx.out.raw(Replies.minusOne);
    from = isBit ? start : start * 8;
    to = isBit ? end : end * 8 + 7;
  } else if (argv.length === 3) {
    if (len === 0) return ctx.out.raw(Replies.minusOne);
    from = 0;
    to = len * 8 - 1;
  } else return ctx.out.error(WireErrors.syntax);
  const pos = findBit(ks.page(ref), ks.valueStart(ref), from, to, bit);
  if (pos >= 0) return ctx.out.integer(pos);
  // No clear bit in the range: without an explicit end the string continues with zeros.
  if (bit === 0 && !endGiven) return ctx.out.integer(to + 1);
  ctx.out.raw(Replies.minusOne);
}

/** First bit equal to `bit` in bits [from, to] of the string at s, or -1. */
function findBit(page: Uint8Array, s: number, from: number, to: number, bit: number): number {
  const skip = bit ? 0 : 0xff;
  let pos = from;
  while (pos <= to) {
    if (pos % 8 === 0 && pos + 7 <= to) {
      const byte = page[s + pos / 8]!;
      if (byte === skip) {
        pos += 8;
        continue;
      }
      for (let b = 0; b < 8; b++) if (((byte >> (7 - b)) & 1) === bit) return pos + b;
    }
    if (((page[s + Math.floor(pos / 8)]! >> (7 - (pos % 8))) & 1) === bit) return pos;
    pos++;
  }
  return -1;
}

const OP_AND = 0;
const OP_OR = 1;
const OP_XOR = 2;
const OP_NOT = 3;

/** BITOP AND|OR|XOR|NOT destkey key [key ...] */
function bitop(ctx: CommandContext, argv: Buffer[]): void {
  const name = argv[1]!;
  let op: number;
  if (argIs(name, 'and')) op = OP_AND;
  else if (argIs(name, 'or')) op = OP_OR;
  else if (argIs(name, 'xor')) op = OP_XOR;
  else if (argIs(name, 'not')) op = OP_NOT;
  else return ctx.out.error(WireErrors.syntax);
  if (op === OP_NOT && argv.length !== 4) return ctx.out.error('ERR BITOP NOT must be called with a single source key.');
  const ks = ctx.ks;
  const n = argv.length - 3;
  const refs = new Array<number>(n);
  let maxlen = 0;
  for (let j = 0; j < n; j++) {
    const ref = ks.lookupRead(argv[j + 3]!);
    if (ref !== 0 && ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
    refs[j] = ref;
    if (ref !== 0 && ks.valueLen(ref) > maxlen) maxlen = ks.valueLen(ref);
  }
  const dest = argv[2]!;
  if (maxlen === 0) {
    ks.delete(dest);
    return ctx.out.raw(Replies.zero);
  }
  // The result is built apart: dest may be a source, and writing dest may move items.
  const res = Buffer.alloc(maxlen);
  for (let j = 0; j < n; j++) {
    const ref = refs[j]!;
    const len = ref === 0 ? 0 : ks.valueLen(ref);
    const src = ref === 0 ? res : ks.page(ref);
    const s = ref === 0 ? 0 : ks.valueStart(ref);
    if (j === 0) {
      if (len > 0) src.copy(res, 0, s, s + len);
      if (op === OP_NOT) for (let i = 0; i < maxlen; i++) res[i] = ~res[i]! & 0xff;
      continue;
    }
    if (op === OP_AND) {
      for (let i = 0; i < len; i++) res[i] = res[i]! & src[s + i]!;
      res.fill(0, len);
    } else if (op === OP_OR) for (let i = 0; i < len; i++) res[i] = res[i]! | src[s + i]!;
    else for (let i = 0; i < len; i++) res[i] = res[i]! ^ src[s + i]!;
  }
  const ref = ks.setString(dest, res, 0, maxlen, 0);
  if (ref === 0) return ctx.out.error(WireErrors.oom);
  ks.setEncoding(ref, ENCODING_RAW);
  ctx.out.integer(maxlen);
}

// --- BITFIELD ----------------------------------------------------------------------------

const BF_GET = 0;
const BF_SET = 1;
const BF_INCRBY = 2;
const OW_WRAP = 0;
const OW_SAT = 1;
const OW_FAIL = 2;

interface FieldOp {
  op: number;
  offset: number;
  bits: number;
  signed: boolean;
  value: number | bigint;
  overflow: number;
}

/** Parses a bitfield type (i1..i64, u1..u63); 0 after replying the error. */
function fieldTypeOrReply(ctx: CommandContext, arg: Buffer): number {
  const signed = arg[0] === 105; // 'i'
  if (!signed && arg[0] !== 117) {
    ctx.out.error(ERR_BITFIELD_TYPE);
    return 0;
  }
  const n = parseInt64(arg.subarray(1));
  if (typeof n !== 'number' || n < 1 || (signed && n > 64) || (!signed && n > 63)) {
    ctx.out.error(ERR_BITFIELD_TYPE);
    return 0;
  }
  return signed ? -n : n;
}

/** Reads an unsigned field of `bits` (<= 48) at bit offset `off` of buf (from s, len bytes; zero beyond). */
function readBitsNum(buf: Uint8Array, s: number, len: number, off: number, bits: number): number {
  let v = 0;
  for (let j = 0; j < bits; j++, off++) {
    const byte = Math.floor(off / 8);
    const b = byte < len ? (buf[s + byte]! >> (7 - (off % 8))) & 1 : 0;
    v = v * 2 + b;
  }
  return v;
}

function readBitsBig(buf: Uint8Array, s: number, len: number, off: number, bits: number): bigint {
  const hi = bits - 32;
  return (BigInt(readBitsNum(buf, s, len, off, hi)) << 32n) | BigInt(readBitsNum(buf, s, len, off + hi, 32));
}

/** Writes the low `bits` of v (a non-negative number below 2^bits) at bit offset off. */
function writeBitsNum(buf: Uint8Array, s: number, off: number, bits: number, v: number): void {
  for (let j = bits - 1; j >= 0; j--) {
    const o = off + j;
    const at = s + Math.floor(o / 8);
    const mask = 1 << (7 - (o % 8));
    if (v % 2 === 1) buf[at] = buf[at]! | mask;
    else buf[at] = buf[at]! & ~mask;
    v = Math.floor(v / 2);
  }
}

function writeBitsBig(buf: Uint8Array, s: number, off: number, bits: number, v: bigint): void {
  const hi = bits - 32;
  writeBitsNum(buf, s, off, hi, Number(v >> 32n));
  writeBitsNum(buf, s, off + hi, 32, Number(v & 0xffffffffn));
}

/** The result of one SET/INCRBY: the value to store (unsigned bit pattern) and the reply; null reply = FAIL overflow. */
let fieldStore: number | bigint = 0;

/**
 * Applies SET or INCRBY to the current raw field `raw` (unsigned pattern of `bits`).
 * Sets fieldStore to the new raw pattern and returns the reply value, or null when
 * OVERFLOW FAIL refuses the write.
 */
function applyNum(f: FieldOp, raw: number): number | null {
  const bits = f.bits;
  const size = 2 ** bits;
  const old = f.signed && raw >= size / 2 ? raw - size : raw;
  const min = f.signed ? -(size / 2) : 0;
  const max = f.signed ? size / 2 - 1 : size - 1;
  const incr = f.value as number;
  let target: number;
  if (f.op === BF_INCRBY) target = old + incr;
  // SET of a negative value into an unsigned field is a huge uint64 in Redis: overflow upwards.
  else target = !f.signed && incr < 0 ? Infinity : incr;
  let next = target;
  if (target > max || target < min) {
    if (f.overflow === OW_FAIL) return null;
    if (f.overflow === OW_SAT) next = target > max ? max : min;
    else next = wrapNum(f.op === BF_SET && !f.signed && incr < 0 ? incr : target, bits, f.signed);
  }
  fieldStore = next < 0 ? next + size : next;
  return f.op === BF_INCRBY ? next : old;
}

function wrapNum(v: number, bits: number, signed: boolean): number {
  const size = 2 ** bits;
  let r = v % size;
  if (r < 0) r += size;
  if (signed && r >= size / 2) r -= size;
  return r;
}

function applyBig(f: FieldOp, raw: bigint): bigint | null {
  const bits = BigInt(f.bits);
  const old = f.signed ? BigInt.asIntN(f.bits, raw) : raw;
  const min = f.signed ? -(1n << (bits - 1n)) : 0n;
  const max = f.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  const v = BigInt(f.value);
  // Redis's unsigned SET reinterprets the int64 as uint64 first.
  const target = f.op === BF_INCRBY ? old + v : f.signed ? v : BigInt.asUintN(64, v);
  let next = target;
  if (target > max || target < min) {
    if (f.overflow === OW_FAIL) return null;
    // Redis tests "above max" first with max - value in int64, which wraps for a SET of a
    // value within max of INT64_MIN into a narrower signed field: SAT then gives max.
    const above = target > max || (f.op === BF_SET && f.signed && f.bits < 64 && max - target >= 1n << 63n);
    if (f.overflow === OW_SAT) next = above ? max : min;
    else next = f.signed ? BigInt.asIntN(f.bits, target) : BigInt.asUintN(f.bits, target);
  }
  fieldStore = BigInt.asUintN(f.bits, next);
  return f.op === BF_INCRBY ? next : old;
}

function replyNumber(ctx: CommandContext, v: number | bigint): void {
  if (typeof v === 'number') ctx.out.integer(v);
  else if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) ctx.out.integer(Number(v));
  else ctx.out.bigInteger(v);
}

/** Fields this wide (and increments this small) are exact as doubles. */
const NUM_BITS = 48;
const NUM_INCR = 2 ** 52;

function bitfieldGeneric(ctx: CommandContext, argv: Buffer[], readOnlyCommand: boolean): void {
  const ops: FieldOp[] = [];
  let overflow = OW_WRAP;
  let readonly = true;
  let highest = -1;
  for (let j = 2; j < argv.length; j++) {
    const rem = argv.length - j - 1;
    const sub = argv[j]!;
    let op: number;
    if (argIs(sub, 'get') && rem >= 2) op = BF_GET;
    else if (argIs(sub, 'set') && rem >= 3) op = BF_SET;
    else if (argIs(sub, 'incrby') && rem >= 3) op = BF_INCRBY;
    else if (argIs(sub, 'overflow') && rem >= 1) {
      const ow = argv[++j]!;
      if (argIs(ow, 'wrap')) overflow = OW_WRAP;
      else if (argIs(ow, 'sat')) overflow = OW_SAT;
      else if (argIs(ow, 'fail')) overflow = OW_FAIL;
      else return ctx.out.error('ERR Invalid OVERFLOW type specified');
      continue;
    } else return ctx.out.error(WireErrors.syntax);
    const type = fieldTypeOrReply(ctx, argv[j + 1]!);
    if (type === 0) return;
    const bits = Math.abs(type);
    const offset = bitOffsetOrReply(ctx, argv[j + 2]!, true, bits);
    if (offset < 0) return;
    let value: number | bigint = 0;
    if (op !== BF_GET) {
      readonly = false;
      if (offset + bits - 1 > highest) highest = offset + bits - 1;
      const v = int64OrReply(ctx.out, argv[j + 3]!);
      if (v === undefined) return;
      value = v;
    }
    ops.push({ op, offset, bits, signed: type < 0, value, overflow });
    j += op === BF_GET ? 2 : 3;
  }

  const ks = ctx.ks;
  let ref: number;
  if (readonly) {
    ref = ks.lookupRead(argv[1]!);
    if (ref !== 0 && ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
  } else {
    if (readOnlyCommand) return ctx.out.error('ERR BITFIELD_RO only supports the GET subcommand');
    ref = stringForBits(ctx, argv[1]!, Math.floor(highest / 8) + 1);
    if (ref === 0) return;
  }

  ctx.out.arrayHeader(ops.length);
  const page = ref === 0 ? undefined : ks.page(ref);
  const s = ref === 0 ? 0 : ks.valueStart(ref);
  const len = ref === 0 ? 0 : ks.valueLen(ref);
  if (!readonly) ks.beginWrite(ref);
  for (const f of ops) {
    const small = f.bits <= NUM_BITS && (typeof f.value === 'number' && Math.abs(f.value) <= NUM_INCR);
    if (f.op === BF_GET) {
      if (page === undefined) ctx.out.raw(Replies.zero);
      else if (f.bits <= NUM_BITS) {
        const raw = readBitsNum(page, s, len, f.offset, f.bits);
        ctx.out.integer(f.signed && raw >= 2 ** (f.bits - 1) ? raw - 2 ** f.bits : raw);
      } else {
        const raw = readBitsBig(page, s, len, f.offset, f.bits);
        replyNumber(ctx, f.signed ? BigInt.asIntN(f.bits, raw) : raw);
      }
      continue;
    }
    if (small) {
      const r = applyNum(f, readBitsNum(page!, s, len, f.offset, f.bits));
      if (r === null) ctx.out.nil();
      else {
        ctx.out.integer(r);
        writeBitsNum(page!, s, f.offset, f.bits, fieldStore as number);
      }
    } else {
      const raw = f.bits <= 32 ? BigInt(readBitsNum(page!, s, len, f.offset, f.bits)) : readBitsBig(page!, s, len, f.offset, f.bits);
      const r = applyBig(f, raw);
      if (r === null) ctx.out.nil();
      else {
        replyNumber(ctx, r);
        const st = fieldStore as bigint;
        if (f.bits <= 32) writeBitsNum(page!, s, f.offset, f.bits, Number(st));
        else writeBitsBig(page!, s, f.offset, f.bits, st);
      }
    }
  }
  if (!readonly) ks.endWrite(ref);
}

/** BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...] */
function bitfield(ctx: CommandContext, argv: Buffer[]): void {
  bitfieldGeneric(ctx, argv, false);
}

/** BITFIELD_RO key [GET encoding offset ...] */
function bitfieldRo(ctx: CommandContext, argv: Buffer[]): void {
  bitfieldGeneric(ctx, argv, true);
}

export const bitmapCommands: HandlerTable = {
  setbit, getbit, bitcount, bitpos, bitop, bitfield, bitfield_ro: bitfieldRo,
};
