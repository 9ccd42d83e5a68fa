/**
 * Per-connection state shared by the proxy's clients and a worker's direct clients:
 * identity (CLIENT ID/SETNAME/SETINFO), protocol version (HELLO) and flags.
 */

/** Connection flag bits (ClientState.flags). */
export const kReadonly = 1 << 0;   // READONLY issued (cluster replica reads)
export const kClosing = 1 << 1;    // QUIT or protocol error: close after the reply
export const kFramed = 1 << 2;     // an internal proxy link speaking frames
export const kBlocked = 1 << 3;    // waiting in a blocking command (BLPOP ...); later commands wait
export const kMulti = 1 << 4;      // inside MULTI: commands are queued until EXEC (docs/transactions.md)
export const kDirtyExec = 1 << 5;  // a command was rejected while queuing: EXEC replies EXECABORT
export const kDirtyCas = 1 << 6;   // a watched key changed (SHOAL.CHECKWATCH): EXEC replies a null array
export const kWatching = 1 << 7;   // a worker's direct client with WATCHed keys (`watched`)
export const kInExec = 1 << 8;     // running EXEC's queued commands: blocking commands do not block
export const kPubSub = 1 << 9;     // has (P|S)SUBSCRIBE subscriptions (RESP2: subscriber mode; docs/pubsub.md)
// Replication (shard/replication/, docs/replication.md).
export const kMasterLink = 1 << 10; // a replica's link to its primary: applied without ownership, OOM or write-refusal checks
export const kConsEventual = 1 << 11; // CONSISTENCY eventual on a worker's direct client
export const kConsStrong = 1 << 12;   // CONSISTENCY strong: write replies wait for the in-sync replicas
export const kConsSession = 1 << 13;  // CONSISTENCY session (none of the three: the config default)
// CLIENT REPLY / NO-EVICT / NO-TOUCH (proxy/client-command.ts); high bits, clear of the ones above.
export const kReplyOff = 1 << 16;      // CLIENT REPLY OFF: no reply is sent
export const kReplySkip = 1 << 17;     // the current command's reply is not sent (CLIENT REPLY SKIP before it)
export const kReplySkipNext = 1 << 18; // CLIENT REPLY SKIP ran: the next command's reply is not sent
export const kNoEvict = 1 << 19;       // CLIENT NO-EVICT on (flag `e`)
export const kNoTouch = 1 << 20;       // CLIENT NO-TOUCH on (flag `T`)
/** Replies are dropped while one of these is set. */
export const kReplyMute = kReplyOff | kReplySkip;
// Proxy ACL (proxy/acl/acl-store.ts): set when the client's commands must pass the ACL gate
// (AUTH pending, a restricted user, or a rate limit); clear = the hot path skips every check.
export const kAclGate = 1 << 24;

/** A WATCHed key and its modification token when watched (shard/commands/transactions.ts). */
export interface WatchedKey {
  key: Buffer;
  token: number;
}

let nextId = 1;

export class ClientState {
  readonly id: number;
  name = '';
  libName = '';
  libVer = '';
  proto: 2 | 3 = 2;
  db = 0;
  flags = 0;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  lastCommand = 'NULL';
  /** ACL user the connection is logged in as (proxy/acl/; a worker's direct clients stay `default`). */
  user = 'default';
  /** Redis's c->authenticated: false while the default user needs a password that was not given. */
  authenticated = true;
  readonly addr: string;
  readonly laddr: string;
  /** Worker: commands queued since MULTI (copies), null outside MULTI. */
  multi: Buffer[][] | null = null;
  /** Worker, direct client: hash slot of the queued commands' keys (-1 none yet, -2 several). */
  multiSlot = -1;
  /** Worker, direct client: WATCHed keys. */
  watched: WatchedKey[] | null = null;
  /** Worker, proxy link: watch registrations made by SHOAL.WATCH and not yet dropped. */
  watchRegs = 0;

  constructor(addr: string, laddr: string, idBase = 0) {
    this.id = idBase + nextId++;
    this.addr = addr;
    this.laddr = laddr;
  }

  /** One CLIENT INFO / CLIENT LIST line, in Redis 7's field order. */
  infoLine(now = Date.now()): string {
    const age = Math.floor((now - this.createdAt) / 1000);
    const idle = Math.floor((now - this.lastInteraction) / 1000);
    const flags = this.flags & kBlocked ? 'b' : this.flags & kMulti ? 'x' : this.flags & kReadonly ? 'r' : 'N';
    return `id=${this.id} addr=${this.addr} laddr=${this.laddr} fd=-1 name=${this.name} age=${age} idle=${idle} flags=${flags} db=${this.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${this.lastCommand} user=${this.user} redir=-1 resp=${this.proto} lib-name=${this.libName} lib-ver=${this.libVer}\n`;
  }

  /** RESET: back to a fresh connection's state (id kept). */
  reset(): void {
    this.name = '';
    this.proto = 2;
    this.db = 0;
    this.flags &= kFramed;
    this.multi = null;
    this.multiSlot = -1;
  }
}
