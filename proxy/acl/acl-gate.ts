/**
 * The ACL gate: what ProxyServer.dispatch runs for a client with kAclGate set (see
 * ./acl-store.ts for when that is). In Redis's order (processCommand): unknown
 * commands and wrong arity are left to the usual path, then NOAUTH, then the user's
 * command / key / channel permissions (denials go to ACL LOG), then — Shoal only —
 * the user's rate limit. A refused command inside MULTI flags the transaction, so
 * EXEC replies EXECABORT, as Redis's rejectCommand does.
 */
import { arityOk, CMD_NOAUTH, type CommandSpec } from '../../shared/commands/spec.js';
import { kMulti } from '../../shared/connection/client-state.js';
import type { ProxyServer } from '../proxy-server.js';
import type { ProxyClient } from '../client-connection.js';
import { entryFor } from './acl-catalog.js';
import { checkCommand } from './acl-check.js';

export const AclWireErrors = {
  noauth: 'NOAUTH Authentication required.',
  noCommand: (fullname: string) => `NOPERM this user has no permissions to run the '${fullname}' command`,
  noKey: 'NOPERM this user has no permissions to access one of the keys used as arguments',
  noChannel: 'NOPERM this user has no permissions to access one of the channels used as arguments',
  rateLimited: (user: string, limit: number) => `ERR rate limit exceeded for user '${user}' (${limit} commands/s)`,
} as const;

function reject(server: ProxyServer, client: ProxyClient, text: string): false {
  if (client.state.flags & kMulti && client.tx !== null) client.tx.aborted = true;
  server.replyError(client, text);
  return false;
}

/** True when the command may go on; false after replying the refusal. */
export function admitOrReply(server: ProxyServer, client: ProxyClient, spec: CommandSpec | undefined, argv: Buffer[]): boolean {
  if (spec === undefined || !arityOk(spec, argv.length)) return true;
  const acl = server.acl;
  const state = client.state;
  if (!state.authenticated && acl.defaultNeedsAuth && !(spec.flags & CMD_NOAUTH)) return reject(server, client, AclWireErrors.noauth);
  const user = acl.userOf(state);
  // Its user was just deleted: the connection is closing.
  if (user === undefined) return reject(server, client, AclWireErrors.noauth);
  if (!acl.isOpen(user)) {
    const entry = entryFor(spec, argv);
    const denial = checkCommand(user, entry, argv);
    if (denial !== null) {
      state.lastCommand = spec.name;
      if (denial.reason === 'command') {
        acl.logDenial(state, 'command', entry.fullname);
        return reject(server, client, AclWireErrors.noCommand(entry.fullname));
      }
      acl.logDenial(state, denial.reason, argv[denial.index]!.toString('latin1'));
      return reject(server, client, denial.reason === 'key' ? AclWireErrors.noKey : AclWireErrors.noChannel);
    }
  }
  const bucket = acl.bucketOf(state);
  if (bucket !== null && !bucket.take(state.lastInteraction)) {
    return reject(server, client, AclWireErrors.rateLimited(state.user, bucket.limit));
  }
  return true;
}
