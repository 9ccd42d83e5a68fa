/**
 * copyBytes: src[start, end) into dst at pos, for the many short copies of the RESP hot
 * paths (an argument into a link batch, a reply into a client's output).
 * TypedArray.prototype.set and Buffer.copy spend ~50 ns on checks before copying (the
 * source's buffer, overlap) and set needs a subarray view first; a JIT-compiled byte
 * loop copies 32 bytes in less. Measured on Node 20 here: 5 B 25 vs 79 ns, 32 B 43 vs
 * 59 ns, 64 B 81 vs 62 ns; so runs up to SHORT_COPY bytes are copied by the loop.
 */
const SHORT_COPY = 32;

export function copyBytes(dst: Uint8Array, pos: number, src: Uint8Array, start: number, end: number): void {
  if (end - start <= SHORT_COPY) {
    for (let i = start; i < end; i++) dst[pos++] = src[i]!;
  } else {
    dst.set(start === 0 && end === src.length ? src : src.subarray(start, end), pos);
  }
}
