import { Histogram } from 'prom-client';
import { processMetric, Tally, tallyCounter } from '@herald/observability';
import type { TransportKind } from './session.js';

const TRANSPORTS: readonly TransportKind[] = ['websocket', 'sse', 'poll'];

/**
 * Hot-path counters of the connection layer, bumped as plain numbers (a property increment per
 * frame) and exported at scrape time. Labels: the transport kind only.
 */
export const transportStats = {
  /** Frames queued to a client connection. */
  framesSent: new Tally<TransportKind>(TRANSPORTS),
  /** Frames not queued because the connection's outbound queue was full (or it was closing as slow). */
  framesDropped: new Tally<TransportKind>(TRANSPORTS),
  /** Connections closed with the SLOW code (3005): the client could not keep up. */
  slowDisconnects: new Tally<TransportKind>(TRANSPORTS),
};

/** Records this node's hub consumed from the bus, by topic. */
export const hubStats = new Tally<'publications' | 'control'>(['publications', 'control']);

tallyCounter(
  'herald_client_frames_sent_total',
  'Frames queued to client connections on this node (messages out), by transport.',
  'transport',
  transportStats.framesSent,
);
tallyCounter(
  'herald_outbound_dropped_frames_total',
  'Frames dropped because a connection outbound queue was full (the client is then disconnected as slow), by transport.',
  'transport',
  transportStats.framesDropped,
);
tallyCounter(
  'herald_slow_disconnects_total',
  'Connections closed as slow (outbound queue overflow: 3005, or 4100 on the Pusher protocol), by transport.',
  'transport',
  transportStats.slowDisconnects,
);
tallyCounter(
  'herald_bus_messages_in_total',
  'Records consumed from the bus by this node (messages in), by topic.',
  'topic',
  hubStats,
);

/**
 * Publish accepted (by any api or gateway) to the publication's frame queued on every local
 * subscriber of this gateway: bus transit plus local fan-out. Measured across hosts, so it
 * includes their clock skew (keep nodes on NTP).
 */
export const fanoutLatency = processMetric(
  new Histogram({
    name: 'herald_fanout_latency_seconds',
    help: 'Time from publish accepted to the frame queued on every local subscriber (bus transit + fan-out).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  }),
);
