// The end-to-end suite as two vitest runs side by side: the files that wait on the clock (alert windows, crons,
// retry backoff) beside the busy ones, each run one file at a time. Arguments (file filters) go to both runs.
// Fails if either run fails.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const run = (project) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.e2e.config.mts', '--project', project, '--passWithNoTests', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tag = `[${project}] `;
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => process.stdout.write(tag + line + '\n'));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const codes = await Promise.all([run('e2e'), run('e2e-waiting')]);
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
