#!/usr/bin/env node
// Records every platform-specific optional dependency in package-lock.json.
//
// Why: packages such as @swc/core ship native binaries as optionalDependencies, one per platform.
// npm writes lock entries only for those it can fetch; where the registry serves just this
// machine's platform, the others are left out and `npm ci` then refuses the lock ("Missing: ...
// from lock file"). An entry with the right os/cpu/libc lets `npm ci` see the dependency and skip
// it on every platform it does not match, exactly as it would with a full lock.
//
// Run after `npm install` whenever dependencies change: node scripts/lock-platform-optionals.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'wasm32', 'sunos', 'aix'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];

/** Platform constraints from the conventional name, e.g. core-linux-arm64-musl. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  if (!os || !cpu) return undefined;
  const out = { os: [os], cpu: [cpu] };
  if (os === 'linux') {
    if (parts.includes('musl') || parts.includes('musleabihf')) out.libc = ['musl'];
    else if (parts.some((p) => p.startsWith('gnu'))) out.libc = ['glibc'];
  }
  return out;
}

let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = key === '' ? '' : `${key}/`;
    if (packages[`${base}node_modules/${dep}`] || packages[`node_modules/${dep}`]) continue;
    const platform = platformOf(dep);
    if (!platform) {
      console.warn(`skipped ${dep}@${version} (required by ${key || 'the root'}): no platform in its name`);
      continue;
    }
    packages[`node_modules/${dep}`] = { version, ...platform, optional: true };
    added++;
  }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`recorded ${added} platform-specific optional dependencies`);
