/**
 * CONFIG GET / CONFIG SET parameters of snapshots (docs/persistence.md), named and
 * worded as Redis 7: `save` (save points), `rdbcompression`, `rdbchecksum` (always on
 * in Shoal: accepted, reported "yes"), `dbfilename` (protected: start-up config only,
 * as Redis 7 refuses CONFIG SET of it by default). The proxy forwards CONFIG SET to
 * every worker, which acts on them (shard/persistence/snapshot.ts).
 */
import type { Param } from './param.js';

/** Parses Redis's save points ("3600 1 300 100", '' = none); undefined when malformed. */
export function parseSavePoints(v: string): Array<{ seconds: number; changes: number }> | undefined {
  const parts = v.trim().split(/\s+/).filter(Boolean);
  if (parts.length % 2 !== 0 || parts.some((p) => !/^\d+$/.test(p))) return undefined;
  const out: Array<{ seconds: number; changes: number }> = [];
  for (let i = 0; i < parts.length; i += 2) out.push({ seconds: Number(parts[i]), changes: Number(parts[i + 1]) });
  if (out.some((p) => p.seconds < 1 || p.changes < 0)) return undefined;
  return out;
}

export const PERSISTENCE_PARAMS: readonly Param[] = [
  {
    name: 'save',
    get: (rc) => rc.config.save,
    set: (rc, v) => {
      const points = parseSavePoints(v);
      if (points === undefined) return 'Invalid save parameters';
      rc.config.save = points.map((p) => `${p.seconds} ${p.changes}`).join(' ');
      return undefined;
    },
  },
  {
    name: 'rdbcompression',
    get: (rc) => rc.config.rdbcompression,
    set: (rc, v) => {
      const b = v.toLowerCase();
      if (b !== 'yes' && b !== 'no') return "argument must be 'yes' or 'no'";
      rc.config.rdbcompression = b;
      return undefined;
    },
  },
  {
    name: 'snapshot-compression',
    get: (rc) => rc.config.snapshotCompression,
    set: (rc, v) => {
      const c = v.toLowerCase();
      if (c !== 'lz4' && c !== 'deflate') return "argument must be 'lz4' or 'deflate'";
      rc.config.snapshotCompression = c;
      return undefined;
    },
  },
  {
    name: 'rdbchecksum',
    get: () => 'yes',
    set: (_rc, v) => {
      const b = v.toLowerCase();
      if (b !== 'yes' && b !== 'no') return "argument must be 'yes' or 'no'";
      if (b === 'no') return 'Shoal snapshots always carry checksums';
      return undefined;
    },
  },
  { name: 'dbfilename', get: (rc) => rc.config.dbfilename, set: () => "can't set protected config" },
  // Stored here; a worker re-reads the file (even the same path) in its apply hook and
  // refuses the SET when it is unreadable or malformed (shard/persistence/aof.ts).
  { name: 'encryption-key-file', get: (rc) => rc.config.encryptionKeyFile, set: (rc, v) => void (rc.config.encryptionKeyFile = v) },
];
