#!/usr/bin/env node
// Runs every Jest project (unit, then end-to-end) in ESM mode and ends with one plain summary line
// ("N passed, N failed, N skipped") that CI reads. Extra arguments are passed to Jest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'herald-test-'));
const out = join(dir, 'results.json');
const args = [
  '--experimental-vm-modules',
  'node_modules/jest/bin/jest.js',
  '--json',
  `--outputFile=${out}`,
  ...process.argv.slice(2),
];
const run = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, NODE_NO_WARNINGS: '1' },
});
let summary = 'test: no results were written';
let failed = true;
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  summary =
    `${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : '');
  failed = r.numFailedTests > 0 || r.numFailedTestSuites > 0 || r.numTotalTests === 0 || !r.success;
  if (r.numTotalTests === 0) summary += ' (no tests ran)';
} catch {
  // Jest crashed before writing results; its own output says why.
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${summary}\n`);
process.exit(failed || run.status !== 0 ? 1 : 0);
