import { Counter, type Metric } from 'prom-client';

/**
 * Process-wide metrics of code that is not a Nest provider (transports, drivers, the hot path):
 * defined once at module load with `registers: []` and added to the registry of every
 * MetricsModule when it is created, so a library records into them without injection.
 *
 * Hot paths should not call prom-client per frame: they bump a plain number in a `Tally` and the
 * metric reads it at scrape time (`collect`). Label values must be small enums (transport kind,
 * topic, error kind); per-app series go through injected providers that know the tenant.
 * Several nodes in one process (tests) share these metrics; production runs one node per process.
 */
const PROCESS_METRICS: Metric[] = [];

export function processMetric<T extends Metric>(metric: T): T {
  PROCESS_METRICS.push(metric);
  return metric;
}

/** Metrics defined so far (MetricsModule registers them into its registry). */
export function processMetrics(): readonly Metric[] {
  return PROCESS_METRICS;
}

/** Plain counters by label value, bumped on hot paths and exported at scrape time. */
export class Tally<L extends string> {
  readonly counts: Record<L, number>;
  constructor(labels: readonly L[]) {
    this.counts = Object.fromEntries(labels.map((l) => [l, 0])) as Record<L, number>;
  }
  add(label: L, n = 1): void {
    this.counts[label] += n;
  }
}

/** A counter whose value comes from a Tally (one series per label value, always present). */
export function tallyCounter<L extends string>(
  name: string,
  help: string,
  labelName: string,
  tally: Tally<L>,
): Counter<string> {
  return processMetric(
    new Counter({
      name,
      help,
      labelNames: [labelName],
      registers: [],
      collect() {
        this.reset();
        for (const [label, n] of Object.entries(tally.counts) as [L, number][]) {
          this.inc({ [labelName]: label }, n);
        }
      },
    }),
  );
}
