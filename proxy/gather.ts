/**
 * Gather: commands that read several keys and write at most their first one (SINTER,
 * SUNIONSTORE, ZUNIONSTORE, ZRANGESTORE, BITOP, PFCOUNT, PFMERGE ...) when their keys
 * live on different workers. Redis Cluster refuses these with CROSSSLOT; the proxy
 * runs them instead:
 *
 *   1. home = the worker of the first key (the destination, for the STORE forms);
 *   2. every key owned elsewhere is read with SHOAL.DUMPKEY and written to home with
 *      SHOAL.RESTOREKEY under a temporary name `{tag}__shoal_gather:N` whose hash tag
 *      maps to home (a missing key simply gets a name that does not exist);
 *   3. the command runs on home with those names in place of the foreign keys, so
 *      the worker's own code produces Redis's exact reply (and WRONGTYPE, and the
 *      write to the destination, atomically there);
 *   4. the temporary keys are deleted.
 *
 * Not atomic across workers: the sources are read one after another, so a concurrent
 * writer may be seen on one source and not another. Keys on one worker take the
 * plain forwarding path and keep Redis's atomicity.
 */
import { keyIndexes, type CommandSpec } from '../shared/commands/spec.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';
import { call, deliverReply } from './fanout.js';
import { isError, type ReplyValue } from './reply-value.js';

type Dump = [number, number, Buffer] | null;

const DUMPKEY = Buffer.from('shoal.dumpkey');
const RESTOREKEY = Buffer.from('shoal.restorekey');
const REPLACE = Buffer.from('replace');
const DEL = Buffer.from('del');

let tempSeq = 0;

export function gatherCommand(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
  const idx = keyIndexes(spec, argv);
  // A bad numkeys leaves no keys: any worker replies the command's own error.
  const home = idx.length === 0 ? server.links[0]! : server.linkFor(argv[idx[0]!]!);
  const foreign = idx.filter((i) => server.linkFor(argv[i]!) !== home);
  const proto = client.state.proto;
  if (foreign.length === 0) return home.send(argv, proto, client.slot());

  const slot = client.slot();
  const tag = server.hashTagFor(home);
  const rewritten = argv.slice();
  const temps: Buffer[] = [];
  const fail = (text: string) => deliverReply(slot, proto, (w) => w.error(text));
  // The client's later commands wait: a pipelined DEL of the destination must not overtake the steps below.
  client.hold(() => {});
  (async () => {
    // One temporary copy per distinct foreign key, however often it is named.
    const copies = new Map<string, Buffer>();
    for (const i of foreign) {
      const key = argv[i]!;
      const name = key.toString('latin1');
      let temp = copies.get(name);
      if (temp === undefined) {
        temp = Buffer.from(`{${tag}}__shoal_gather:${process.pid}:${tempSeq++}`);
        copies.set(name, temp);
        const d = await call(server.linkFor(key), [DUMPKEY, key]);
        if (isError(d)) return fail(d.error);
        const dump = d as Dump;
        if (dump !== null) {
          const [type, expireAt, value] = dump;
          temps.push(temp);
          const r: ReplyValue = await call(home, [RESTOREKEY, temp, Buffer.from(String(type)), Buffer.from(String(expireAt)), value, REPLACE]);
          if (isError(r)) return fail(r.error);
        }
      }
      rewritten[i] = temp;
    }
    await new Promise<void>((resolve) => home.send(rewritten, proto, {
      deliver: (buf, start, end) => {
        slot.deliver(buf, start, end);
        resolve();
      },
    }));
  })()
    .catch((err: Error) => {
      server.log.error({ err }, 'gathered command failed');
      fail(`ERR ${err.message}`);
    })
    .finally(() => {
      if (temps.length > 0) home.send([DEL, ...temps], 2, { deliver: () => {} });
      client.release();
    });
}

