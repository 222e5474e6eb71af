#!/usr/bin/env node
// The `sae-match` command line: this file only wires the command groups (one file each in cli/).
// Exit codes: 0 ok, 2 bad input, 1 internal failure.
import { Command } from 'commander';
import { SaeMatchInputError } from '../errors.js';
import { toolVersion } from '../match/contract.js';
import { registerAnalysisCommands } from './analysis.js';
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
  .version(toolVersion);

registerSolveCommands(program);
registerMatchCommands(program);
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
