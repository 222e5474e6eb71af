#!/usr/bin/env node
// The `sae-match` command line: this file only wires the command groups (one file each in cli/).
// Exit codes: 0 ok, 2 bad input, 1 internal failure.
import { Command, CommanderError } from 'commander';
import { setThreads } from '../binding/addon.js';
import { SaeMatchInputError } from '../errors.js';
import { toolVersion } from '../match/contract.js';
import { registerAnalysisCommands } from './analysis.js';
import { registerClusterCommands } from './cluster.js';
import { registerEvalCommands } from './eval.js';
import { registerInfoCommands } from './info.js';
import { registerMatchCommands } from './match.js';
import { registerReportCommands } from './report.js';
import { registerSolveCommands } from './solve.js';
import { registerToolCommands } from './tools.js';
import { interruptExitCode } from './signals.js';

const program = new Command()
  // Commander's own usage errors (a missing required option, a bad value, an unknown option) throw
  // instead of exiting 1, so that they exit 2 like every other input error; commands inherit this.
  .exitOverride()
  .name('sae-match')
  .description('Exact SAE Match: align sparse-autoencoder features across layers')
  .version(toolVersion)
  .option('--threads <n>', 'threads for the native passes (default: the CPUs this process was given; see `info`)')
  .hook('preAction', (cmd) => {
    const t = cmd.opts().threads as string | undefined;
    if (t === undefined) return;
    if (!/^[1-9]\d*$/.test(t)) throw new SaeMatchInputError(`--threads must be a positive integer, got '${t}'`);
    setThreads(Number(t));
  });

registerSolveCommands(program);
registerMatchCommands(program);
registerClusterCommands(program);
registerAnalysisCommands(program);
registerEvalCommands(program);
registerReportCommands(program);
registerToolCommands(program);
registerInfoCommands(program);

/** --help says which options a command needs: commander lists required options like the others. */
function markRequired(cmd: Command): void {
  for (const o of cmd.options) if (o.mandatory && !o.description.endsWith('(required)')) o.description = `${o.description} (required)`;
  for (const c of cmd.commands) markRequired(c);
}
markRequired(program);

program.parseAsync().catch((e: Error & { exitCode?: number }) => {
  if (e instanceof CommanderError) {
    // Already printed by commander; --help and --version end here too, with exit code 0.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    return;
  }
  const aborted = e.name === 'AbortError';
  // Messages meant for API users too (the addon loader's) already name the tool: one prefix, not two.
  process.stderr.write(`sae-match: ${aborted ? 'stopped by a signal; rerun the same command to resume' : e.message.replace(/^sae-match: /, '')}\n`);
  process.exitCode = e instanceof SaeMatchInputError ? 2 : aborted ? interruptExitCode() : 1;
});
