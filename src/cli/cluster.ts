// The CLI's cluster commands: plan (a JSON job plan of many suites), run (one shard of a plan),
// status (done / running / stale / missing per pair of an output folder) and merge (the manifest
// from the per-pair records). Shards of `suite --shard` or `run --shard` write into one folder on a
// shared filesystem; nothing here needs a lock.
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { engineOption } from './args.js';
import { candidatesOption, deviceOption, methodOption, shardOption } from './match.js';
import { METRICS } from '../sae/fold.js';
import { interrupt } from './signals.js';
import { peakRssBytes } from './proc.js';

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

async function planCommand(file: string, roots: string[], o: Record<string, any>) {
  const { makePlan, writePlan } = await import('../match/plan.js');
  const plan = await makePlan({ roots, widths: o.width, sites: o.site, l0: o.l0, layers: o.layers, affine: o.affine, revision: o.revision, metric: o.metric });
  await writePlan(resolve(file), plan);
  if (o.json) return console.log(JSON.stringify(plan));
  console.log(`${resolve(file)}: ${plan.suites.length} suite${plan.suites.length === 1 ? '' : 's'}`);
  for (const s of plan.suites) console.log(`  ${s.name.padEnd(28)} ${s.root}${s.site ? ` --site ${s.site}` : ''}${s.width ? ` --width ${s.width}` : ''}`);
  console.log(`run every shard of it with: sae-match run ${file} --out OUT --shard auto   (in an sbatch --array job; see scripts/slurm/)`);
}

async function runCommand(file: string, o: Record<string, any>) {
  const { readPlan, runPlan } = await import('../match/plan.js');
  const { parseShard } = await import('../match/shard.js');
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  if (shard) process.stderr.write(`sae-match: ${shard.source}\n`);
  const t0 = performance.now();
  const r = await runPlan(await readPlan(resolve(file)), o.out, shard, {
    device: o.device, engine: o.engine, method: o.method, candidates: o.candidates, duals: o.duals, force: o.force, signal: interrupt,
  });
  const seconds = (performance.now() - t0) / 1000;
  const suites = r.suites.map((s) => ({ name: s.name, out: s.out, assigned: s.result?.assigned ?? [], computed: s.result?.computed ?? 0, skipped: s.result?.skipped ?? 0 }));
  if (o.json) return console.log(JSON.stringify({ out: resolve(o.out), shard, assigned: r.assigned, total: r.total, seconds, peak_rss_bytes: peakRssBytes(), suites }));
  console.log(`${shard ? `shard ${shard.index}/${shard.count}: ` : ''}${r.assigned} of the plan's ${r.total} pairs, in ${seconds.toFixed(1)} s`);
  for (const s of suites) if (s.assigned.length) console.log(`  ${s.name}: ${s.computed} matched, ${s.skipped} already done (${s.assigned.join(', ')})`);
}

async function statusCommand(out: string, o: { json?: boolean }) {
  const { folderStatus, suiteFolders } = await import('../match/status.js');
  const all = await Promise.all((await suiteFolders(out)).map((f) => folderStatus(f)));
  if (o.json) return console.log(JSON.stringify({ complete: all.every((s) => s.complete), folders: all }));
  for (const s of all) {
    const c = s.counts;
    console.log(`${s.out}: ${c.done}/${s.pairs.length} pairs done, ${c.running} running, ${c.stale} stale, ${c.missing} missing${s.complete ? (s.manifestComplete ? ' — complete' : ' — complete; run sae-match merge to list every pair in manifest.json') : ''}`);
    for (const p of s.pairs)
      if (p.state !== 'done')
        console.log(`  ${p.from} → ${p.to}  ${p.state}${p.host ? `  on ${p.host} pid ${p.pid}${p.shard ? ` shard ${p.shard}` : ''}, last heartbeat ${p.heartbeatAge!.toFixed(0)} s ago` : ''}`);
  }
}

async function mergeCommand(out: string, o: { json?: boolean }) {
  const { mergeFolder, suiteFolders } = await import('../match/status.js');
  const merged = [];
  for (const f of await suiteFolders(out)) merged.push({ out: f, pairs: (await mergeFolder(f)).pairs.length });
  if (o.json) return console.log(JSON.stringify({ folders: merged }));
  for (const m of merged) console.log(`${m.out}/manifest.json: ${m.pairs} pairs`);
}

export function registerClusterCommands(program: Command): void {
  program.command('plan')
    .description('write a job plan: the suites of ROOTs × widths × sites, for one array job over all of them (sae-match run)')
    .argument('<plan>', 'the plan file to write (JSON)')
    .argument('<roots...>', 'suite roots (as for suite)')
    .addOption(new Option('--width <list>', 'widths, comma-separated: one suite per width').argParser(list))
    .addOption(new Option('--site <list>', 'sites, comma-separated: one suite per site').argParser(list))
    .option('--l0 <choice>', "as for suite: 'canonical', small|medium|big, a number, or a map file")
    .option('--layers <a-b|list>', 'an inclusive layer range (3-7) or a list (0,2,4)')
    .option('--affine', 'Gemma Scope 2 _affine skip transcoders')
    .option('--revision <rev>', 'Hub cache revision')
    .addOption(new Option('--metric <m>', 'feature comparison').choices([...METRICS]))
    .option('--json', 'print the plan')
    .action(planCommand);

  program.command('run')
    .description('match the pairs of a plan (this shard\'s share with --shard) into OUT/{suite}/; reruns skip finished pairs')
    .argument('<plan>', 'a plan written by sae-match plan')
    .requiredOption('--out <dir>', 'output folder: one subfolder per suite of the plan')
    .addOption(shardOption())
    .addOption(deviceOption())
    .addOption(methodOption())
    .addOption(candidatesOption())
    .option('--duals', 'also write the duals u/v of every pair')
    .addOption(engineOption())
    .option('--force', 'recompute this shard\'s pairs')
    .option('--json', 'print one JSON summary on stdout')
    .action(runCommand);

  program.command('status')
    .description('which pairs of an output folder (or of each suite of a plan\'s folder) are done, running (host, pid, heartbeat), stale or missing')
    .argument('<out>', 'output folder')
    .option('--json', 'print JSON')
    .action(statusCommand);

  program.command('merge')
    .description('rewrite manifest.json from the per-pair records (the last shard does this too)')
    .argument('<out>', 'output folder')
    .option('--json', 'print JSON')
    .action(mergeCommand);
}
