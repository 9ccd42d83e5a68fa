/**
 * Error lines as Redis 7 sends them, byte-exact, without the leading '-' and the
 * trailing CRLF (ReplyWriter.error adds both). Dynamic ones are functions.
 * Internal ShoalError codes (shared/errors.ts) are mapped to these at the edge.
 */
export const WireErrors = {
  syntax: 'ERR syntax error',
  notInteger: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  nanOrInf: 'ERR increment would produce NaN or Infinity',
  noSuchKey: 'ERR no such key',
  wrongType: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  crossSlot: "CROSSSLOT Keys in request don't hash to the same slot",
  stringTooLong: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  offsetOutOfRange: 'ERR offset is out of range',
  dbIndexOutOfRange: 'ERR DB index is out of range',
  selectNotAllowedInCluster: 'ERR SELECT is not allowed in cluster mode',
  invalidCursor: 'ERR invalid cursor',
  expireNxXxGtLt: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  expireGtLt: 'ERR GT and LT options at the same time are not compatible',
  oom: "OOM command not allowed when used memory > 'maxmemory'.",
  noProto: 'NOPROTO unsupported protocol version',
  sameObject: 'ERR source and destination objects are the same',
  clusterDown: 'CLUSTERDOWN Hash slot not served',
  wrongArity: (cmd: string) => `ERR wrong number of arguments for '${cmd}' command`,
  invalidExpire: (cmd: string) => `ERR invalid expire time in '${cmd}' command`,
  unknownCommand: (name: string, args: readonly Buffer[]) => {
    // As Redis: the quoted args together are capped at 128 characters.
    let list = '';
    for (let i = 0; i < args.length && list.length < 128; i++) {
      list += `'${sanitize(args[i]!.toString('latin1'), 128 - list.length)}' `;
    }
    return `ERR unknown command '${sanitize(name, 128)}', with args beginning with: ${list}`;
  },
  unknownSubcommand: (sub: string, cmd: string) =>
    `ERR unknown subcommand '${sanitize(sub, 128)}'. Try ${cmd.toUpperCase()} HELP.`,
  moved: (slot: number, endpoint: string) => `MOVED ${slot} ${endpoint}`,
  protocol: (message: string) => `ERR ${message}`,
} as const;

/**
 * Redis replaces newlines (and other control bytes) in echoed user input so that an
 * error reply stays one line; it also truncates long names.
 */
function sanitize(s: string, max: number): string {
  const t = s.length > max ? s.slice(0, max) : s;
  return t.replace(/[\r\n]/g, ' ');
}
