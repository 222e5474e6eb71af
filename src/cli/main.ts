#!/usr/bin/env node
// The `sae-match` command line: this file only wires the command groups (one file each in cli/).
// Exit codes: 0 ok, 2 bad input, 1 internal failure.
import { Command } from 'commander';
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

program.parseAsync().catch((e: Error & { exitCode?: number }) => {
  const aborted = e.name === 'AbortError';
  process.stderr.write(`sae-match: ${aborted ? 'stopped by a signal; rerun the same command to resume' : e.message}\n`);
  process.exitCode = e instanceof SaeMatchInputError ? 2 : aborted ? interruptExitCode() : 1;
});
