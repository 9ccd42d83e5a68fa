// k6 load test of WebSocket pub/sub on the proxy's HTTP port (`/pubsub`,
// docs/websocket-pubsub.md): SUBSCRIBERS virtual users each hold one socket subscribed
// to CHANNEL, and one publisher VU publishes through its own WebSocket at RATE messages
// per second. Every message carries its send time and a sequence number, so each
// subscriber records the delivery latency (a Trend) and any gap in the sequence.
//
//   k6 run loadtest/k6/pubsub-ws.ts
//   k6 run -e WS_URL=ws://127.0.0.1:8080/pubsub -e SUBSCRIBERS=200 -e RATE=200 -e DURATION=60 loadtest/k6/pubsub-ws.ts
//   k6 run -e WS_USER=alice -e WS_PASSWORD=secret loadtest/k6/pubsub-ws.ts   # ACL user (Basic auth at upgrade)
//
// Latency is publisher clock → subscriber clock: both run in this k6 process, so the
// clocks agree; in a distributed k6 run they would have to be synchronised. It includes
// k6's own event-loop delays, so it is an upper bound on Shoal's delivery time.
// Thresholds: see `options` (k6 exits 99 when one is crossed).

import { check } from 'k6';
import encoding from 'k6/encoding';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { clearInterval, setInterval, setTimeout } from 'k6/timers';
import { WebSocket, type MessageEvent } from 'k6/websockets';

const WS_URL = __ENV['WS_URL'] || 'ws://127.0.0.1:8080/pubsub';
const CHANNEL = __ENV['CHANNEL'] || 'k6:bench';
const SUBSCRIBERS = Number(__ENV['SUBSCRIBERS'] || 50);
const RATE = Number(__ENV['RATE'] || 100);
/** Seconds of publishing; subscribers connect 3 s before and stay 3 s after. */
const DURATION = Number(__ENV['DURATION'] || 30);
const WS_USER = __ENV['WS_USER'] || '';
const WS_PASSWORD = __ENV['WS_PASSWORD'] || '';

const LEAD_S = 3;

/** Publish → delivery, ms, per delivered message. */
const deliveryLatency = new Trend('shoal_ws_delivery_latency', true);
/**
 * Per frame received: false when it was what we expected; true for an error frame, a
 * frame that is not JSON, a socket error or a close we did not ask for (tagged `kind`).
 */
const errors = new Rate('shoal_ws_errors');
const delivered = new Counter('shoal_ws_delivered');
/** Messages a subscriber never saw (gaps in the publisher's sequence). */
const lost = new Counter('shoal_ws_lost');
const published = new Counter('shoal_ws_published');
/** Subscribers that got each message, as PUBLISH's reply counts them. */
const receivers = new Trend('shoal_ws_receivers');

export const options: Options = {
  scenarios: {
    subscribers: {
      executor: 'constant-vus',
      exec: 'subscriber',
      vus: SUBSCRIBERS,
      duration: `${DURATION + 2 * LEAD_S}s`,
      gracefulStop: '5s',
    },
    publisher: {
      executor: 'per-vu-iterations',
      exec: 'publisher',
      vus: 1,
      iterations: 1,
      startTime: `${LEAD_S}s`,
      maxDuration: `${DURATION + LEAD_S}s`,
    },
  },
  thresholds: {
    shoal_ws_delivery_latency: ['p(99)<50'],
    shoal_ws_errors: ['rate<0.01'],
    shoal_ws_lost: ['count<1'],
    ws_connecting: ['p(99)<1000'],
  },
};

/** Credentials at upgrade (docs/websocket-pubsub.md): Basic user:password. */
function connectParams(): { headers: Record<string, string> } {
  if (WS_PASSWORD === '') return { headers: {} };
  return { headers: { Authorization: `Basic ${encoding.b64encode(`${WS_USER || 'default'}:${WS_PASSWORD}`)}` } };
}

interface Frame {
  type?: string;
  channel?: string;
  message?: string;
  authenticated?: boolean;
  receivers?: number;
  error?: string;
}

function parse(e: MessageEvent | undefined): Frame | null {
  if (e === undefined || typeof e.data !== 'string') return null;
  try {
    return JSON.parse(e.data) as Frame;
  } catch {
    return null;
  }
}

/** One subscriber socket for the whole scenario; a close we did not ask for is an error. */
export function subscriber(): void {
  const ws = new WebSocket(WS_URL, null, connectParams());
  let closing = false;
  let lastSeq = -1;

  ws.onopen = () => {
    ws.send(JSON.stringify({ op: 'subscribe', channel: CHANNEL }));
    setTimeout(() => {
      closing = true;
      ws.close();
    }, (DURATION + 2 * LEAD_S - 1) * 1000);
  };
  ws.onmessage = (e) => {
    const f = parse(e);
    if (f === null) {
      errors.add(true, { kind: 'bad-frame' });
      return;
    }
    if (f.type === 'hello') {
      errors.add(!check(f, { 'socket authenticated': (x) => x.authenticated === true }));
    } else if (f.type === 'subscribe') {
      errors.add(!check(f, { 'subscribed': (x) => x.channel === CHANNEL }));
    } else if (f.type === 'message' && typeof f.message === 'string') {
      const body = JSON.parse(f.message) as { t: number; seq: number };
      deliveryLatency.add(Date.now() - body.t);
      delivered.add(1);
      if (lastSeq >= 0 && body.seq > lastSeq + 1) lost.add(body.seq - lastSeq - 1);
      if (body.seq > lastSeq) lastSeq = body.seq;
      errors.add(false);
    } else if (f.type === 'error') {
      errors.add(true, { role: 'subscriber', kind: 'error-frame' });
    }
  };
  ws.onerror = () => {
    errors.add(true, { role: 'subscriber', kind: 'socket-error' });
  };
  ws.onclose = () => {
    if (!closing) errors.add(true, { role: 'subscriber', kind: 'unexpected-close' });
  };
}

/**
 * Publishes RATE messages per second on a fixed timeline through one WebSocket: every
 * 10 ms it sends the messages due by then, so a slow tick is caught up, not dropped.
 */
export function publisher(): void {
  const ws = new WebSocket(WS_URL, null, connectParams());
  let seq = 0;
  let ticker = 0;
  let closing = false;

  ws.onopen = () => {
    const start = Date.now();
    ticker = setInterval(() => {
      const elapsed = Date.now() - start;
      if (elapsed >= DURATION * 1000) {
        clearInterval(ticker);
        // Let the last replies arrive before closing.
        setTimeout(() => {
          closing = true;
          ws.close();
        }, 1000);
        return;
      }
      const due = Math.floor((elapsed * RATE) / 1000);
      while (seq < due) {
        ws.send(JSON.stringify({ op: 'publish', channel: CHANNEL, message: JSON.stringify({ t: Date.now(), seq }) }));
        seq++;
        published.add(1);
      }
    }, 10);
  };
  ws.onmessage = (e) => {
    const f = parse(e);
    if (f === null) {
      errors.add(true, { kind: 'bad-frame' });
      return;
    }
    if (f.type === 'publish') {
      receivers.add(f.receivers ?? 0);
      errors.add(!check(f, { 'every subscriber received it': (x) => (x.receivers ?? 0) >= SUBSCRIBERS }));
    } else if (f.type === 'error') {
      errors.add(true, { role: 'publisher', kind: 'error-frame' });
    }
  };
  ws.onerror = () => {
    errors.add(true, { role: 'publisher', kind: 'socket-error' });
  };
  ws.onclose = () => {
    if (!closing) errors.add(true, { role: 'publisher', kind: 'unexpected-close' });
  };
}
