// The first word and the first line of an error reply, read from buffer offsets: the
// load generator counts errors by type and reports AUTH failures. Reply boundaries come
// from the one RESP reply scanner (shared/resp/reply-scanner.ts).

/** The error code of an error reply at buf[pos] (`-WRONGTYPE Operation ...` -> `WRONGTYPE`). */
export function errorPrefix(buf: Buffer, pos: number, end: number): string {
  let i = pos + 1;
  while (i < end && buf[i] !== 32 && buf[i] !== 13) i++;
  return buf.toString('latin1', pos + 1, i) || '(empty)';
}

/** The whole first line of an error reply, for messages (AUTH failures). */
export function errorLine(buf: Buffer, pos: number, end: number): string {
  let i = pos + 1;
  while (i < end && buf[i] !== 13) i++;
  return buf.toString('latin1', pos + 1, i);
}
