#!/usr/bin/env node
/** The load generator (loadtest/generator/): `shoal-loadtest --help` lists every option. */
import { main } from '../loadtest/generator/cli.js';

process.exitCode = await main(process.argv.slice(2));
