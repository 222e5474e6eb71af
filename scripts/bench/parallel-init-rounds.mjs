// How many rows the data-parallel JV initialisation (the GPU solver's phases 1-3, run here by its
// host reference) leaves for the exact phase 4, by number of bidding rounds, next to the sequential
// JV's own phases. Usage: node scripts/bench/parallel-init-rounds.mjs [n] [families, comma-separated]
// (needs dist/: npm run build).
import { solveAssignment } from '../../dist/index.js';
import { makeInstance } from '../../dist/tools/index.js';

const n = Number(process.argv[2] ?? 4096);
for (const family of (process.argv[3] ?? 'sae,uniform,geometric').split(',')) {
  const inst = await makeInstance(family, n, { seed: 1 });
  const jv = await solveAssignment(inst);
  console.log(`${family} n=${n} sequential JV: ${jv.stats.freeAfterColumnReduction} free after column reduction, ${jv.stats.freeAfterArr} after ARR, ${jv.stats.dijkstraSteps} Dijkstra steps, ${jv.seconds.toFixed(2)} s`);
  for (const rounds of (process.env.ROUNDS ?? "0,8,32,128,512").split(",").map(Number)) {
    const p = await solveAssignment(inst, { init: 'parallel', parallelRounds: rounds });
    if (Math.abs(p.totalCost - jv.totalCost) > 1e-9 * n * Math.abs(jv.totalCost)) throw new Error(`${family}: optimum differs`);
    console.log(`  ${String(rounds).padStart(3)} rounds: ${p.stats.freeAfterArr} rows left for phase 4, ${p.stats.dijkstraSteps} Dijkstra steps (host: init ${p.stats.secondsInit.toFixed(2)} s, phase 4 ${p.stats.secondsAugment.toFixed(2)} s)`);
  }
}
