import type { Command } from 'commander';

/** Commands that talk to a running node over its API (filled in with the SDK). */
export function registerClientCommands(_program: Command): void {}
