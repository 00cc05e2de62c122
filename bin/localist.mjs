#!/usr/bin/env node
// The `localist` executable. tsx compiles the TypeScript sources on load, so
// the CLI runs from a checkout without a build step.
import { register } from 'tsx/esm/api';

register();

const { main } = await import('../main/cli/localist.ts');
process.exitCode = await main(process.argv.slice(2));
