// The README's command table, made from the CLI's own --help (commander's definitions), so the two
// cannot drift: `node scripts/check/command-table.mjs` prints it; `--write` puts it into README.md
// between the markers; test/cli.test.ts fails when README.md differs from what this prints.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(import.meta.dirname, '..', '..');
const cli = resolve(root, 'dist', 'cli', 'main.js');
const help = (args) => spawnSync(process.execPath, [cli, ...args, '--help'], { encoding: 'utf8' }).stdout;

/** The lines of a help section with commander's wrapped continuation lines joined to the entry they continue. */
function entries(text, section) {
  const body = text.slice(text.indexOf(section) + section.length).split('\n\n')[0];
  const out = [];
  for (const line of body.split('\n').filter((l) => l.trim())) {
    if (/^ {3,}/.test(line) && out.length) out[out.length - 1] += ' ' + line.trim();
    else out.push(line);
  }
  return out;
}

/** Commands and their one-line descriptions from the top-level help. */
function commands() {
  const out = [];
  for (const line of entries(help([]), 'Commands:')) {
    const m = /^  (\S+)( \[options\])?((?: [<[][^>\]]+[>\]])*)\s{2,}(.*)$/.exec(line);
    if (m && m[1] !== 'help') out.push({ name: m[1], args: m[3].trim(), description: m[4].trim() });
  }
  return out;
}

/** A command's options (flags only), from its help. */
function options(name) {
  const out = [];
  for (const line of entries(help([name]), 'Options:')) {
    const m = /^  (-\S.*?)\s{2,}(.*)$/.exec(line);
    if (m && !m[1].startsWith('-h, --help')) out.push(`\`${m[1].replace(/\|/g, '\\|')}\`${/\(required\)$/.test(m[2]) ? ' (required)' : ''}`);
  }
  return out;
}

export function commandTable() {
  const rows = commands().map((c) => `| \`${c.name}${c.args ? ` ${c.args}` : ''}\` | ${c.description.replace(/\|/g, '\\|')} | ${options(c.name).join(', ')} |`);
  const global = entries(help([]), 'Options:').map((l) => /^  (-\S.*?)\s{2,}/.exec(l)?.[1]).filter((o) => o && !o.startsWith('-h')).map((o) => `\`${o}\``);
  return ['| command | what it does | options |', '|---|---|---|', ...rows, '', `Every command also takes ${global.join(', ')} and \`-h, --help\`.`].join('\n');
}

const BEGIN = '<!-- command table: scripts/check/command-table.mjs -->', END = '<!-- end of command table -->';
export function readmeTable() {
  const s = readFileSync(resolve(root, 'README.md'), 'utf8');
  const a = s.indexOf(BEGIN), b = s.indexOf(END);
  return a < 0 || b < 0 ? undefined : s.slice(a + BEGIN.length, b).trim();
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const table = commandTable();
  if (process.argv.includes('--write')) {
    const p = resolve(root, 'README.md');
    const s = readFileSync(p, 'utf8');
    const a = s.indexOf(BEGIN), b = s.indexOf(END);
    if (a < 0 || b < 0) throw new Error(`README.md has no ${BEGIN} … ${END} markers`);
    writeFileSync(p, `${s.slice(0, a + BEGIN.length)}\n${table}\n${s.slice(b)}`);
  } else console.log(table);
}
