#!/usr/bin/env node
/** Consistent backups of a running embedded cluster, and restore into a new data directory (manager/backup.ts). */
import { parseArgs } from 'node:util';
import { takeBackup, verifyBackup, restoreBackup } from '../manager/backup.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';

const USAGE = `Usage:
  shoal-backup backup  --out DIR [--port 6380] [--host 127.0.0.1] [--user U] [--pass P]
                       [--data-dir DIR] [--timeout-ms 600000]
  shoal-backup verify  --from DIR
  shoal-backup restore --from DIR --data-dir NEWDIR [--dbfilename dump.sdb]

backup   takes one snapshot per worker at the same cut (writes are held on every proxy
         process for the few milliseconds it takes to start them; reads continue), waits
         for them, and copies them with their topology and a manifest of SHA-256
         checksums into --out (which must be empty or absent). The cluster's data
         directory comes from CONFIG GET dir unless --data-dir is given; the files are
         read from it, so run this on the machine that holds them.
verify   checks a backup's files against its manifest.
restore  verifies a backup, then copies it into NEWDIR (which must hold no worker data)
         laid out for the same shards x workers; then start the cluster on it:
           npm start -- --data-dir NEWDIR --shards S --workers W
         (appendonly must be off for that first start: a worker with an append-only log
         loads the log, not the snapshot; turn it on afterwards with CONFIG SET).
`;

const say = (line: string): void => {
  process.stderr.write(`shoal-backup: ${line}\n`);
};

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      out: { type: 'string' }, from: { type: 'string' }, 'data-dir': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', short: 'p', default: '6380' },
      user: { type: 'string' }, pass: { type: 'string' }, dbfilename: { type: 'string', default: 'dump.sdb' },
      'timeout-ms': { type: 'string', default: '600000' },
    },
  });
  const cmd = positionals[0];
  if (values.help || cmd === undefined) {
    process.stdout.write(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const need = (name: 'out' | 'from' | 'data-dir'): string => values[name] ?? (say(`${cmd} needs --${name}\n\n${USAGE}`), process.exit(2));
  if (cmd === 'backup') {
    const port = Number(values.port);
    const timeoutMs = Number(values['timeout-ms']);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ShoalError(ErrorCodes.CONFIG, `--port: "${values.port}" is not a port (1-65535)`);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new ShoalError(ErrorCodes.CONFIG, `--timeout-ms: "${values['timeout-ms']}" is not a positive integer`);
    const m = await takeBackup({
      host: values.host!, port, out: need('out'), timeoutMs, progress: say,
      ...(values.user !== undefined ? { user: values.user } : {}), ...(values.pass !== undefined ? { pass: values.pass } : {}),
      ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    });
    say(`backup of ${m.workers.length} workers (${m.shards} shards x ${m.workersPerShard}) written to ${values.out}; writes were held ${m.pauseMs} ms`);
  } else if (cmd === 'verify') {
    const m = verifyBackup(need('from'));
    say(`${values.from}: ${m.workers.length} worker snapshots from ${m.createdAt}, checksums match`);
  } else if (cmd === 'restore') {
    const m = restoreBackup({ from: need('from'), dataDir: need('data-dir'), dbfilename: values.dbfilename!, progress: say });
    say(`restored into ${values['data-dir']}; start it with: npm start -- --data-dir ${values['data-dir']} --shards ${m.shards} --workers ${m.workersPerShard}`);
  } else {
    say(`unknown command "${cmd}" (backup, verify, restore)\n\n${USAGE}`);
    process.exit(2);
  }
} catch (err) {
  say(err instanceof ShoalError || (err as { code?: string })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (err as Error).message : String((err as Error)?.stack ?? err));
  process.exit(1);
}
