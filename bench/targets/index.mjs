// Registry of benchmark targets by name (the --targets flag). Adapter shape: see targets/ref.mjs.

import { refNaive, refFramed } from './ref.mjs';
import { herald } from './herald.mjs';
import { heraldCluster } from './herald-cluster.mjs';

export const targets = {
  'ref-naive': refNaive,
  'ref-framed': refFramed,
  herald,
  'herald-cluster': heraldCluster,
};

export function getTarget(name) {
  const t = targets[name];
  if (!t) throw new Error(`unknown target "${name}" (known: ${Object.keys(targets).join(', ')})`);
  return t;
}
