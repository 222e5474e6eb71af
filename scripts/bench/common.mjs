// What the benchmark scripts share: where the package and its CLI are, and their --name value flags.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cli = join(root, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
/** The value after --name, or `dflt`. */
export const opt = (name, dflt) => {
  const k = args.indexOf(`--${name}`);
  return k >= 0 ? args[k + 1] : dflt;
};
/** Whether --name was given. */
export const flag = (name) => args.includes(`--${name}`);
