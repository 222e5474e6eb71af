// The CLI's `info` command: which addon loaded, how it was built, and which CUDA device (or why none).
import type { Command } from 'commander';
import { blasRules, nativeInfo } from '../binding/addon.js';
import { toolVersion as version } from '../match/contract.js';

function infoCommand(opts: { json?: boolean }) {
  const i = nativeInfo();
  // What the BLAS keeps bit for bit across call shapes, at Gemma 2 2B's d_model (measured, ~30 ms):
  // how the sparse method computes its entries here (README, "Method").
  const rules = i.haveBlas ? blasRules(2304) : undefined;
  if (opts.json) return console.log(JSON.stringify({ version, ...i, blasRules: rules }));
  console.log(`sae-match ${version}`);
  console.log(`addon        ${i.addonPath}`);
  console.log(`build        ${i.buildSystem ?? 'unknown'}${i.avx2 ? ', AVX2 kernels' : ', portable kernels (no AVX2 on this CPU)'}`);
  console.log(`BLAS         ${i.haveBlas ? i.blas : 'none (built-in GEMM kernel)'}`);
  if (rules) {
    const keeps = rules.rowTile === 0 ? 'no call shape keeps an entry: the sparse method computes with the built-in kernel'
      : `entries kept in ${rules.rowTile}-row tiles${rules.slotted ? ' when a row keeps its slot' : ''}; ` +
        (rules.columnSubsets ? 'over column subsets too (open pairs evaluated alone)' : 'not over column subsets (pricing recomputes rows whole)');
    console.log(`BLAS shapes  ${keeps}`);
  }
  console.log(`threads      ${i.threads} (${i.threadsReason})`);
  if (!i.cuda.compiled) console.log(`CUDA         not used: ${i.cuda.error}`);
  else if (i.cuda.devices.length === 0) console.log(`CUDA         compiled (runtime ${i.cuda.runtimeVersion}), no usable device: ${i.cuda.error}`);
  else
    for (const d of i.cuda.devices)
      console.log(`CUDA         device ${d.index}: ${d.name}, compute ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, ${d.multiprocessors} SMs (runtime ${i.cuda.runtimeVersion}, driver ${i.cuda.driverVersion})`);
  const lacks = [!i.haveBlas && 'BLAS (the built-in GEMM takes ~1.5× numpy\'s time; install libopenblas-dev)', !i.cuda.compiled && 'CUDA (install the CUDA toolkit)'].filter(Boolean);
  const prebuilt = i.addonPath.includes('/prebuilds/');
  console.log(`runs         ${prebuilt ? 'the prebuilt addon shipped in the package' : 'the addon built on this machine'}${lacks.length ? `; lacks ${lacks.join(' and ')}, then \`npm rebuild sae-match\`` : ''}`);
}

export function registerInfoCommands(program: Command): void {
  program.command('info')
  .description('addon path, build flags, BLAS, threads, CUDA device or why there is none')
  .option('--json', 'print JSON')
  .action(infoCommand);
}
