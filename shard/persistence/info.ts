/**
 * INFO persistence of one worker, with Redis 7's field names and order. The rdb_* and
 * loading fields come from the snapshot state (./snapshot.ts); the aof_* fields from
 * the append-only log, which fills `persistenceHooks.aofFields` (its owner replaces the
 * default below). The proxy merges the workers' sections (proxy/info.ts).
 */
import type { WorkerServer } from '../worker/server.js';

export const persistenceHooks = {
  /** aof_* lines of INFO persistence, in Redis's order. */
  aofFields: (_server: WorkerServer): string[] => [
    'aof_enabled:0', 'aof_rewrite_in_progress:0', 'aof_rewrite_scheduled:0', 'aof_last_rewrite_time_sec:-1',
    'aof_current_rewrite_time_sec:-1', 'aof_last_bgrewrite_status:ok', 'aof_rewrites:0',
    'aof_rewrites_consecutive_failures:0', 'aof_last_write_status:ok', 'aof_last_cow_size:0',
  ],
};

export function persistenceSection(server: WorkerServer): string {
  const s = server.snapshots;
  const now = Date.now();
  const running = s.running;
  return [
    '# Persistence',
    `loading:${s.loading ? 1 : 0}`, 'async_loading:0',
    'current_cow_peak:0', 'current_cow_size:0', 'current_cow_size_age:0', 'current_fork_perc:0.00',
    `current_save_keys_processed:${running ? running.keysWritten : 0}`,
    `current_save_keys_total:${running ? running.keysTotal : 0}`,
    `rdb_changes_since_last_save:${server.dirty}`,
    `rdb_bgsave_in_progress:${running && running.purpose === 'bgsave' ? 1 : 0}`,
    `rdb_last_save_time:${s.lastSave}`,
    `rdb_last_bgsave_status:${s.lastBgsaveOk ? 'ok' : 'err'}`,
    `rdb_last_bgsave_time_sec:${s.lastBgsaveTimeSec}`,
    `rdb_current_bgsave_time_sec:${running && running.purpose === 'bgsave' ? Math.floor((now - running.startedAt) / 1000) : -1}`,
    `rdb_saves:${s.saves}`,
    'rdb_last_cow_size:0',
    `rdb_last_load_keys_expired:${s.lastLoadExpired}`,
    `rdb_last_load_keys_loaded:${s.lastLoadLoaded}`,
    ...persistenceHooks.aofFields(server),
    'module_fork_in_progress:0', 'module_fork_last_cow_size:0',
    // Shoal: the longest event-loop stall the last snapshot caused on this worker.
    `shoal_rdb_last_max_pause_ms:${s.lastMaxPauseMs.toFixed(2)}`,
    // Shoal: keys the last background snapshot copied out before a write (copy-on-write).
    `shoal_rdb_last_cow_keys:${s.lastCowKeys}`,
  ].join('\r\n');
}
