#!/usr/bin/env node
// npm `install` hook. Uses the prebuilt binary for this platform when one loads; otherwise builds from source
// when the build tools and Debian packages are there; otherwise explains the choices. Never fails the
// install: octet's pure-TypeScript parts (ONNX I/O, the quantizer's model rewriting) work without the addon,
// and loading the addon later throws one error listing the same fixes.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function tryLoad() {
  try {
    require('node-gyp-build')(root);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (existsSync(path.join(root, '.git'))) {
  console.log('octet: development checkout, not building here: run `npm run build`.');
  process.exit(0);
}
const reason = tryLoad();
if (reason === undefined) process.exit(0);

console.log(`octet: no prebuilt binary loads on ${process.platform}-${process.arch} (${reason}).`);
const headers = ['/usr/include/xnnpack.h', '/usr/include/pthreadpool.h', '/usr/include/cpuinfo.h'];
if (has('cmake') && has('c++') && headers.every((h) => existsSync(h))) {
  console.log('octet: building from source with cmake-js ...');
  const r = spawnSync('npx', ['--yes', 'cmake-js@8', 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
  const after = r.status === 0 ? tryLoad() : 'the build failed';
  if (after === undefined) {
    console.log('octet: built from source.');
    process.exit(0);
  }
  console.log(`octet: the source build did not give a loadable addon (${after}).`);
}
console.log(
  [
    'octet: the native runtime is not available. Fixes:',
    '  1. use linux-x64 or linux-arm64 with glibc >= 2.34 (the prebuilt binaries bundle their vendor libraries);',
    `  2. or install the build tools and vendor packages, then reinstall: sudo bash ${path.join(root, 'scripts/install-deps.sh')} && npm rebuild octet`,
  ].join('\n'),
);
