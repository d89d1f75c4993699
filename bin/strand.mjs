#!/usr/bin/env node
// The package runs from its TypeScript sources through tsx's loader, so `npm ci` needs no
// build step and stack traces point at the .ts files an operator can read.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
