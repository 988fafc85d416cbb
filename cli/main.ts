#!/usr/bin/env node
// The `skiff` command (cli/commands.ts). `skiff supervise`, internal, is the
// supervisor `skiff up` leaves running for the cluster's whole life
// (supervisor.ts); it is told apart here, before anything else loads, so that
// it loads only what it uses and not the commands' modules (the kinds table,
// the REST client, the PKI, netns and join), which held ~15 MiB of its
// resident memory for nothing.

import { parseFlags } from '../lib/flags.js';
import { defaultHome } from './state.js';

async function run(): Promise<number> {
  if (process.argv[2] === 'supervise') {
    const flags = parseFlags({ home: '' }, process.argv.slice(2), 'Usage: skiff supervise --home=<dir> (internal: the supervisor skiff up starts)');
    const { supervise } = await import('./supervisor.js');
    return supervise(flags.home || defaultHome());
  }
  const { main } = await import('./commands.js');
  return main();
}

run().then((code) => process.exit(code), (e) => {
  process.stderr.write(`skiff: ${(e as Error).message}\n`);
  process.exit(1);
});
