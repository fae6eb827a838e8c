#!/usr/bin/env node
import { runCli } from '@herald/admin';

// The `herald` command (package.json "bin"); everything but the process wiring is in libs/admin.
runCli(process.argv.slice(2), {
  env: process.env,
  fetch,
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`herald: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
