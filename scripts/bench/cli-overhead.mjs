#!/usr/bin/env node
// The CLI's own overhead on one `sae-match solve`: the whole process's wall time against the solve and
// the certificate it reports, warm (file in the page cache) and cold (page cache dropped first, when
// this process may write /proc/sys/vm/drop_caches, i.e. as root), and the bare start (`--version`).
// The instance is the SAE-like 8192 x 8192 float32 matrix (`bench --family sae --n 8192`'s default
// seed), written once to --file.
// Usage: node scripts/bench/cli-overhead.mjs [--n 8192] [--repeat 10] [--file /tmp/sae-8192.npy] [--json]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cli, flag, opt, root } from './common.mjs';

const n = Number(opt('n', 8192));
const repeat = Number(opt('repeat', 10));
const file = opt('file', `/tmp/sae-${n}.npy`);
if (!existsSync(file)) {
  const { makeInstance } = await import(`${root}/dist/tools/instances.js`);
  const { writeNpy } = await import(`${root}/dist/io/npy.js`);
  await writeNpy(file, { dtype: 'float32', shape: [n, n], data: (await makeInstance('sae', n, { seed: 1 })).data });
}

function once(args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(r.stderr);
  return { wall, out: r.stdout };
}
function solve() {
  const { wall, out } = once(['solve', file, '--json']);
  const j = JSON.parse(out);
  return { wall, solve: j.seconds, certificate: j.certificate.seconds, overhead: wall - j.seconds };
}
function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (rows) => Object.fromEntries(['wall', 'solve', 'certificate', 'overhead'].map((k) => [k, { median: median(rows.map((r) => r[k])), worst: Math.max(...rows.map((r) => r[k])) }]));

const start = Array.from({ length: repeat }, () => once(['--version']).wall);
solve(); // warm the page cache
const warm = Array.from({ length: repeat }, solve);
const cold = [];
for (let k = 0; k < Math.min(3, repeat) && dropCaches(); k++) cold.push(solve());
const result = { date: new Date().toISOString(), file, n, repeat, start: { median: median(start), worst: Math.max(...start) }, warm: summary(warm), cold: cold.length ? summary(cold) : null };
if (flag('json')) console.log(JSON.stringify(result));
else {
  const f = (s) => `median ${s.median.toFixed(3)} s, worst ${s.worst.toFixed(3)} s`;
  console.log(`start (--version): ${f(result.start)}`);
  for (const [name, s] of [['warm', result.warm], ['cold', result.cold]]) {
    if (!s) { console.log(`${name}: not measured (cannot drop the page cache here)`); continue; }
    console.log(`${name}: process ${f(s.wall)}; solve ${f(s.solve)}; certificate ${f(s.certificate)}; process - solve ${f(s.overhead)}`);
  }
}
