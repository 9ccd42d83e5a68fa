#!/usr/bin/env node
/**
 * shoal-check-aof: checks a worker's append-only log (manifest + base + incremental
 * files, shard/persistence/aof-format.ts) like redis-check-aof, reports the first bad
 * offset, and with --fix cuts a torn or damaged tail off the last file. Encrypted files
 * (shard/persistence/encryption.ts) are checked with the keys of --key-file and/or
 * SHOAL_ENCRYPTION_KEYS: every record's GCM tag is verified.
 */
import { existsSync, openSync, readFileSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseManifest, type ManifestEntry } from '../shard/persistence/aof-format.js';
import { readKeyring, scanAofFile, type Keyring } from '../shard/persistence/encryption.js';
import { decodeHeader, HEADER_BYTES } from '../shard/persistence/snapshot-format.js';

const USAGE = `Usage: shoal-check-aof [--fix] [--key-file FILE] <manifest | appendonlydir | worker dir | file.aof>

Checks the append-only log of one Shoal worker: every file the manifest names, in
order (a .base.sdb snapshot base is only checked for presence). Prints, per file,
the size and the offset up to which it is valid, as redis-check-aof does.

  --fix    cut the last file at its last complete record (a torn write at the end,
           a MULTI without EXEC, or damaged bytes at the end of the last file);
           damage in an earlier file cannot be fixed by truncation
  --key-file FILE
           keys of encrypted files ("<key-id> <64 hex>" lines, as encryption-key-file);
           SHOAL_ENCRYPTION_KEYS is read too. Encrypted records are authenticated.
  --help   this text

Exit status: 0 = valid (or fixed), 1 = damaged, 2 = usage or I/O error.
Files live in <data-dir>/shard-<s>/worker-<w>/appendonlydir/ (docs/persistence.md).`;

interface Target {
  dir: string;
  files: ManifestEntry[];
}

function resolveTarget(arg: string): Target {
  if (existsSync(arg) && statSync(arg).isDirectory()) {
    const inner = join(arg, 'appendonlydir');
    const dir = existsSync(inner) ? inner : arg;
    const manifest = readdirManifest(dir);
    if (manifest === null) throw new Error(`no *.manifest file in ${dir}`);
    return resolveTarget(manifest);
  }
  if (arg.endsWith('.manifest')) {
    return { dir: dirname(arg), files: parseManifest(readFileSync(arg, 'utf8'), arg).filter((e) => e.type !== 'h') };
  }
  return { dir: dirname(arg), files: [{ name: basename(arg), seq: 0, type: 'i' }] };
}

function readdirManifest(dir: string): string | null {
  for (const f of ['appendonly.aof.manifest']) if (existsSync(join(dir, f))) return join(dir, f);
  const any = readdirSafe(dir).find((f) => f.endsWith('.manifest'));
  return any === undefined ? null : join(dir, any);
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const fix = args.includes('--fix');
  const k = args.indexOf('--key-file');
  if (k !== -1 && (args[k + 1] === undefined || args[k + 1]!.startsWith('--'))) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  const ring: Keyring | null = readKeyring(k === -1 ? '' : args[k + 1]!);
  const paths = args.filter((a, i) => !a.startsWith('--') && !(k !== -1 && i === k + 1));
  if (paths.length !== 1) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  const target = resolveTarget(paths[0]!);
  let damaged = false;
  const ordered = [...target.files.filter((e) => e.type === 'b'), ...target.files.filter((e) => e.type === 'i')];
  for (let i = 0; i < ordered.length; i++) {
    const e = ordered[i]!;
    const file = join(target.dir, e.name);
    const last = i === ordered.length - 1;
    if (!existsSync(file)) {
      process.stdout.write(`AOF ${file} is missing (named in the manifest)\n`);
      damaged = true;
      continue;
    }
    if (e.name.endsWith('.sdb')) {
      const head = Buffer.alloc(HEADER_BYTES);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, head, 0, HEADER_BYTES, 0);
      } finally {
        closeSync(fd);
      }
      const h = decodeHeader(head);
      const keyNote = typeof h === 'string' ? `, header: ${h}` : h.keyId === 0 ? '' : `, encrypted with key id ${h.keyId}${ring?.keys.has(h.keyId) === true ? '' : ' (NOT among the given keys)'}`;
      process.stdout.write(`Snapshot base ${e.name}: ${statSync(file).size} bytes${keyNote} (checked when loaded)\n`);
      if (typeof h === 'string' || (h.keyId !== 0 && ring?.keys.has(h.keyId) !== true)) damaged = true;
      continue;
    }
    let scan;
    try {
      scan = await scanAofFile(file, ring, () => {});
    } catch (err) {
      process.stdout.write(`${(err as Error).message.replace(/; refusing to start$/, '')}\n`);
      damaged = true;
      continue;
    }
    if (scan.enc !== null) process.stdout.write(`AOF ${e.name} is encrypted with key id ${scan.enc.keyId} (${scan.enc.records} sealed records authenticated)\n`);
    const okTo = scan.stop.kind === 'corrupt' ? scan.stop.record : scan.validEnd;
    process.stdout.write(`AOF analyzed: filename=${e.name}, size=${scan.size}, ok_up_to=${okTo}, records=${scan.records}, diff=${scan.size - okTo}\n`);
    if (okTo === scan.size) {
      process.stdout.write(`AOF ${e.name} is valid\n`);
      continue;
    }
    const what = scan.stop.kind === 'corrupt'
      ? `Bad file format at byte offset ${scan.stop.offset}: ${scan.stop.message}`
      : scan.stop.kind === 'incomplete' ? `Incomplete record at byte offset ${scan.stop.offset} (torn write)` : `MULTI without EXEC at byte offset ${scan.openMulti}`;
    process.stdout.write(`${what}\n`);
    if (fix && last) {
      await truncate(file, okTo);
      process.stdout.write(`Successfully truncated AOF ${e.name} from ${scan.size} to ${okTo} bytes\n`);
    } else {
      damaged = true;
      if (fix) process.stdout.write(`AOF ${e.name} is not the last file: cannot fix by truncation\n`);
      else process.stdout.write('Run with --fix to cut the damaged tail off\n');
    }
  }
  return damaged ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`shoal-check-aof: ${(err as Error).message}\n`);
  process.exit(2);
});
