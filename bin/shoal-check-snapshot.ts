#!/usr/bin/env node
/**
 * shoal-check-snapshot: verifies snapshot files (dump.sdb, an AOF's .base.sdb) the way a
 * worker reads them at start (shard/persistence/snapshot-reader.ts), like
 * redis-check-rdb: header, every section's checksums, GCM tag and decompression, every
 * record's shape, the end marker. A snapshot cannot be repaired by cutting it (its end
 * marker and counts cover the whole file): a damaged one is reported with its offset,
 * and the fix is an older copy (shoal-backup) or the append-only log.
 */
import { parseArgs } from 'node:util';
import { readKeyring } from '../shard/persistence/encryption.js';
import { readSnapshot, SnapshotDamage } from '../shard/persistence/snapshot-reader.js';
import { TYPE_NAMES } from '../shard/types/registry.js';
import { ShoalError } from '../shared/errors.js';

const USAGE = `Usage: shoal-check-snapshot [--key-file FILE] <file.sdb> [more files ...]

Verifies each snapshot file: header, section checksums, AES-GCM tags of encrypted
sections (keys from --key-file and/or SHOAL_ENCRYPTION_KEYS, as encryption-key-file),
decompression, every record, and the end marker. Prints the keys per type, or the
byte offset of the first damage.

Exit status: 0 = every file valid, 1 = a file is damaged, 2 = usage or I/O error.
Files live in <data-dir>/shard-<s>/worker-<w>/ (docs/persistence.md).
`;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

let status = 0;
try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, 'key-file': { type: 'string' } } });
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const ring = readKeyring(values['key-file'] ?? '');
  for (const file of positionals) {
    const perType = new Map<string, number>();
    let expiring = 0;
    try {
      const s = await readSnapshot(file, ring, (type, exp) => {
        const name = TYPE_NAMES[type] ?? String(type);
        perType.set(name, (perType.get(name) ?? 0) + 1);
        if (exp !== 0) expiring++;
      });
      const types = [...perType].map(([k, n]) => `${k} ${n}`).join(', ') || 'no keys';
      say(`${file}: OK, ${s.records} keys (${types}; ${expiring} with a TTL) in ${s.sections} sections, ${s.bytes} bytes, written ${new Date(s.header.created).toISOString()}${s.header.keyId !== 0 ? `, encrypted under key id ${s.header.keyId}` : ''}`);
    } catch (err) {
      if (!(err instanceof SnapshotDamage)) throw err;
      say(`${file}: DAMAGED at byte offset ${err.offset}: ${err.what}`);
      status = 1;
    }
  }
} catch (err) {
  // Config, argument and file errors (ENOENT ...) are the user's to fix: their message is enough.
  process.stderr.write(`shoal-check-snapshot: ${err instanceof ShoalError || typeof (err as { code?: unknown })?.code === 'string' ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(2);
}
process.exit(status);
