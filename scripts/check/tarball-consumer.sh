#!/bin/bash
# The package as a consumer gets it: `npm pack`, then a scratch project installs the tarball (from
# the npm registry for its dependencies, nothing else) and checks that ESM import and CommonJS
# require both work and solve a 3x3 problem to its brute-force optimum, that `tsc --strict` (5 and
# 7, no settings of the consumer's own) compiles a use of the API, that `sae-match info` runs, and
# that the files the README's user-facing sections name are in the tarball. Run by .ci/run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/sae-match-consumer-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$ROOT" && npm pack --silent --pack-destination "$W" >/dev/null
TGZ=$(ls "$W"/sae-match-*.tgz)
tar tzf "$TGZ" | sed 's#^package/##' > "$W/files.txt"
for f in LICENSE README.md dist/index.js dist/index.d.ts prebuilds/linux-x64/sae-match.node scripts/slurm/sae-match-array.sbatch scripts/k8s/indexed-job.yaml scripts/check/check_outputs.py scripts/bench/peer_scipy.py; do
  grep -qx "$f" "$W/files.txt" || { echo "FAIL: the tarball lacks $f"; exit 1; }
done
mkdir "$W/app" && cd "$W/app"
echo '{ "name": "consumer", "private": true, "type": "module" }' > package.json
t0=$(date +%s)
npm install --no-audit --no-fund --loglevel=error "$TGZ" > install.log 2>&1 || { cat install.log; echo "FAIL: npm install of the tarball"; exit 1; }
echo "installed in $(( $(date +%s) - t0 )) s"
node --input-type=module -e "
  import { solveAssignment } from 'sae-match';
  const r = await solveAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
  if (r.totalCost !== 5 || Array.from(r.rowToCol).join() !== '1,0,2') throw new Error('ESM: wrong optimum ' + r.totalCost);
  console.log('PASS ESM import: optimum 5');"
node -e "
  const m = require('sae-match');
  m.solveAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]).then((r) => {
    if (r.totalCost !== 5) throw new Error('CJS: wrong optimum');
    console.log('PASS CommonJS require: optimum 5');
  });" || { echo "FAIL: require('sae-match') (needs Node >= 20.19)"; exit 1; }
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "strict": true, "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "noEmit": true, "types": [] }, "files": ["index.ts"] }
JSON
cat > index.ts <<'TS'
import { matchSuite, loadSae, parseShard, type Sae } from 'sae-match';
import { writeSynthSuite } from 'sae-match/tools';
export const computed = async (root: string): Promise<number> => (await matchSuite(root, { out: 'o', shard: parseShard('0/2') })).computed;
export type S = Sae; void loadSae; void writeSynthSuite;
TS
for tsc in "$ROOT/node_modules/typescript/bin/tsc" "$ROOT/node_modules/typescript-7/bin/tsc"; do
  node "$tsc" -p . || { echo "FAIL: $(node "$tsc" -v) on the installed package"; exit 1; }
  echo "PASS $(node "$tsc" -v): the installed types compile with no settings of the consumer's own"
done
npx --no-install sae-match info | head -3
echo "PASS the tarball installs and works in a scratch consumer"
