import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePorts } from './ports.js';
import { spawnService } from './service-process.js';

/**
 * A real PostgreSQL for a test: `initdb` and `postgres` (installed by .ci/run) in a temp dir, on a
 * free loopback port, trust auth for the `postgres` role. PostgreSQL refuses to run as root, so
 * as root the server runs as the `postgres` user (or `nobody`) and the temp dir is chowned to it.
 * With STRAND_TEST_PG_URL set (postgres://user:pass@host:port/db), tests use that server instead
 * and only create and drop their own databases on it.
 */
export interface PostgresServer {
  /** A connection URL for `database` (default: postgres). */
  url(database?: string): string;
  /** A fresh empty database; its URL. */
  createDatabase(prefix?: string): Promise<string>;
  readonly output: () => string;
  /** Stops the server (SIGINT: fast shutdown) and removes its dir; drops created databases on an external one. */
  stop(): Promise<void>;
}

/** The newest PostgreSQL server binaries on this machine, or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && existsSync(join(dir, 'postgres')) ? dir : null;
}

function runAs(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (r.status === 0 && g.status === 0) return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

let counter = 0;

function withDatabase(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.STRAND_TEST_PG_URL;
  if (external) {
    const created: string[] = [];
    return {
      url: (db) => (db ? withDatabase(external, db) : external),
      createDatabase: async (prefix = 'strand_test') => {
        const name = `${prefix}_${process.pid}_${Date.now()}_${counter++}`;
        await adminQuery(external, `CREATE DATABASE ${name}`);
        created.push(name);
        return withDatabase(external, name);
      },
      output: () => '',
      stop: async () => {
        for (const name of created.splice(0)) await adminQuery(external, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      },
    };
  }
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (.ci/run installs the postgresql package)');
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'strand-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets);
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(sockets, user.uid, user.gid);
  }
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  // Without a HOME the server's user can read, initdb and postgres still run; LC_ALL=C avoids
  // depending on the machine's locales.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', HOME: dir };
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync'], { ...ids, env, encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${String(init.status ?? init.error)}):\n${init.stdout}\n${init.stderr}`);
  }
  const port = (await freePorts(1))[0]!;
  const server = spawnService(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', sockets, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=60'], { ...ids, env });
  const base = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await server.waitReady(`postgres on port ${port}`, () => canConnect(base), 30_000);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopping: Promise<void> | null = null;
  return {
    url: (db) => (db ? withDatabase(base, db) : base),
    createDatabase: async (prefix = 'strand_test') => {
      const name = `${prefix}_${counter++}`;
      await adminQuery(base, `CREATE DATABASE ${name}`);
      return withDatabase(base, name);
    },
    output: server.output,
    stop: () => {
      stopping ??= (async () => {
        await server.stop('SIGINT', 10_000);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
