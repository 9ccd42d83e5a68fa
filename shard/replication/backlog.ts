/**
 * ReplicationBacklog: the last `size` bytes of one worker's replication stream, with
 * the replication ids and offsets Redis keeps beside it (replication.c).
 *
 *   offsets   `offset` (master_repl_offset) counts every byte ever appended under the
 *             current history. Byte number k (1-based, as Redis) is the k-th byte of
 *             the stream; the ring holds bytes [firstByte, offset], histlen of them.
 *   ids       `replid` names the current history; `replid2` the history this worker
 *             followed before it was promoted, valid up to `secondOffset` (the first
 *             byte offset the new history added, Redis's second_replid_offset). A
 *             replica of the old history at a byte <= secondOffset can continue.
 *
 *     ring:  [........#########|######........]   size bytes, `head` = next write
 *                     ^ firstByte        ^ head
 *
 * Writer: the worker thread that owns it (primary: the propagation sink; replica: the
 * link as it applies the stream). No other thread touches it.
 */
import { randomBytes } from 'node:crypto';

export const NO_REPLID = '0000000000000000000000000000000000000000';

export function newReplid(): string {
  return randomBytes(20).toString('hex');
}

export class ReplicationBacklog {
  replid: string;
  replid2 = NO_REPLID;
  /** Redis's second_repl_offset: -1 when replid2 is unset. */
  secondOffset = -1;
  /** master_repl_offset: bytes of the stream so far. */
  offset: number;
  #ring: Buffer;
  #head = 0;
  #histlen = 0;

  constructor(size: number, replid = newReplid(), offset = 0) {
    this.#ring = Buffer.allocUnsafe(Math.max(1, size));
    this.replid = replid;
    this.offset = offset;
  }

  get size(): number {
    return this.#ring.length;
  }

  get histlen(): number {
    return this.#histlen;
  }

  /** repl_backlog_first_byte_offset (offset + 1 when empty, as Redis). */
  get firstByte(): number {
    return this.offset - this.#histlen + 1;
  }

  append(src: Uint8Array, start = 0, end = src.length): void {
    const ring = this.#ring;
    let n = end - start;
    this.offset += n;
    if (n >= ring.length) {
      // Only the tail fits.
      ring.set(src.subarray(end - ring.length, end), 0);
      this.#head = 0;
      this.#histlen = ring.length;
      return;
    }
    let p = start;
    while (n > 0) {
      const room = Math.min(n, ring.length - this.#head);
      ring.set(src.subarray(p, p + room), this.#head);
      this.#head = (this.#head + room) % ring.length;
      p += room;
      n -= room;
    }
    this.#histlen = Math.min(ring.length, this.#histlen + (end - start));
  }

  /** True when byte `from` (1-based, Redis's psync_offset) can be served: firstByte <= from <= offset + 1. */
  has(from: number): boolean {
    return from >= this.firstByte && from <= this.offset + 1;
  }

  /** Bytes from byte `from` (see has) to the end, as one Buffer copy. */
  readFrom(from: number): Buffer {
    const n = this.offset + 1 - from;
    const out = Buffer.allocUnsafe(n);
    const ring = this.#ring;
    let start = (this.#head - n + ring.length * 2) % ring.length;
    let p = 0;
    while (p < n) {
      const take = Math.min(n - p, ring.length - start);
      ring.copy(out, p, start, start + take);
      p += take;
      start = 0;
    }
    return out;
  }

  /** Drops the bytes after `offset` (a replica's half-received command when its link drops). */
  truncateTo(offset: number): void {
    const cut = this.offset - offset;
    if (cut <= 0) return;
    const ring = this.#ring;
    const n = Math.min(cut, this.#histlen);
    this.#head = (this.#head - n + ring.length) % ring.length;
    this.#histlen -= n;
    this.offset = offset;
  }

  /** Resize (CONFIG SET repl-backlog-size): keeps as much of the tail as fits. */
  resize(size: number): void {
    if (size === this.#ring.length) return;
    const keep = this.readFrom(this.firstByte);
    this.#ring = Buffer.allocUnsafe(Math.max(1, size));
    const off = this.offset;
    this.offset -= keep.length;
    this.#head = 0;
    this.#histlen = 0;
    this.append(keep);
    this.offset = off;
  }

  /** A new history (promotion): the old id stays valid up to the current offset (Redis shiftReplicationId). */
  shiftReplid(): void {
    this.replid2 = this.replid;
    this.secondOffset = this.offset + 1;
    this.replid = newReplid();
  }

  /** Replaced by a full resync: empty, under the primary's id and offset. */
  reset(replid: string, offset: number): void {
    this.replid = replid;
    this.replid2 = NO_REPLID;
    this.secondOffset = -1;
    this.offset = offset;
    this.#head = 0;
    this.#histlen = 0;
  }
}
