/**
 * INFO replication and ROLE of one worker, with Redis 7.0's field names and order
 * (checked against redis-server 7.0.15 as primary and replica), plus Shoal's
 * `shoal_epoch` and `shoal_lease_ms_left` (-1 while no lease is enforced).
 */
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';
import type { Replication } from './role.js';
import { NO_REPLID } from './backlog.js';

export function replicationSection(r: Replication): string {
  const now = Date.now();
  const lines = ['# Replication'];
  const b = r.backlog;
  if (r.role === 'primary') {
    lines.push('role:master', `connected_slaves:${r.primary.peers.length}`);
    r.primary.peers.forEach((p, i) => {
      lines.push(`slave${i}:ip=${p.ip},port=${p.port},state=${p.state},offset=${p.ackOffset},lag=${Math.floor((now - p.ackTime) / 1000)}`);
    });
  } else {
    const link = r.link;
    const up = link !== null && link.state === 'connected';
    const syncing = link !== null && (link.state === 'sync' || link.state === 'loading');
    lines.push(
      'role:slave',
      `master_host:${link?.primary.host ?? ''}`,
      `master_port:${link?.primary.port ?? 0}`,
      `master_link_status:${up ? 'up' : 'down'}`,
      `master_last_io_seconds_ago:${link !== null && (up || syncing) ? Math.floor((now - link.lastIo) / 1000) : -1}`,
      `master_sync_in_progress:${syncing ? 1 : 0}`,
      `slave_read_repl_offset:${link?.readOffset ?? 0}`,
      `slave_repl_offset:${link?.applied ?? 0}`,
    );
    if (syncing && link !== null) {
      const total = link.syncTotal;
      lines.push(
        `master_sync_total_bytes:${total}`, `master_sync_read_bytes:${link.syncRead}`,
        `master_sync_left_bytes:${total < 0 ? -1 : total - link.syncRead}`,
        `master_sync_perc:${total > 0 ? ((link.syncRead / total) * 100).toFixed(2) : '0.00'}`,
        `master_sync_last_io_seconds_ago:${Math.floor((now - link.lastIo) / 1000)}`,
      );
    }
    if (!up) lines.push(`master_link_down_since_seconds:${link === null || link.downSince === 0 ? -1 : Math.floor((now - link.downSince) / 1000)}`);
    lines.push('slave_priority:100', 'slave_read_only:1', 'replica_announced:1', 'connected_slaves:0');
  }
  lines.push(
    'master_failover_state:no-failover',
    `master_replid:${b?.replid ?? NO_REPLID}`,
    `master_replid2:${b?.replid2 ?? NO_REPLID}`,
    `master_repl_offset:${r.offset}`,
    `second_repl_offset:${b?.secondOffset ?? -1}`,
    `repl_backlog_active:${b !== null ? 1 : 0}`,
    `repl_backlog_size:${b?.size ?? r.server.config.replBacklogSize}`,
    `repl_backlog_first_byte_offset:${b !== null ? b.firstByte : 0}`,
    `repl_backlog_histlen:${b?.histlen ?? 0}`,
    `shoal_epoch:${r.server.epoch}`,
    `shoal_lease_ms_left:${r.leaseLeft(now)}`,
    `shoal_fenced:${r.fenced ? 1 : 0}`,
  );
  return lines.join('\r\n');
}

/** sync_* lines of INFO stats. */
export function syncStats(r: Replication): string[] {
  const s = r.stats;
  return [`sync_full:${s.syncFull}`, `sync_partial_ok:${s.syncPartialOk}`, `sync_partial_err:${s.syncPartialErr}`];
}

/** ROLE: ["master", offset, [[ip, port, offset] ...]] or ["slave", host, port, state, offset]. */
export function writeRole(out: ReplyWriter, r: Replication): void {
  if (r.role === 'primary') {
    out.arrayHeader(3);
    out.bulk('master');
    out.integer(r.offset);
    const peers = r.primary.peers;
    out.arrayHeader(peers.length);
    for (const p of peers) {
      out.arrayHeader(3);
      out.bulk(p.ip);
      out.bulk(String(p.port));
      out.bulk(String(p.ackOffset));
    }
    return;
  }
  const link = r.link;
  out.arrayHeader(5);
  out.bulk('slave');
  out.bulk(link?.primary.host ?? '');
  out.integer(link?.primary.port ?? 0);
  const state = link === null ? 'connect' : link.state === 'loading' ? 'sync' : link.state;
  out.bulk(state);
  out.integer(link !== null && link.state === 'connected' ? link.applied : -1);
}
