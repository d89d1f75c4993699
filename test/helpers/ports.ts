import net from 'node:net';

/**
 * Consecutive free ports on loopback starting at the returned one (checked by binding), below
 * Linux's ephemeral range (32768-60999): members keep their ports across restarts, and a port in
 * the ephemeral range can be taken meanwhile by any outgoing connection's local end (a CI run
 * failed on EADDRINUSE exactly so).
 */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * (12_700 - count));
    const servers: net.Server[] = [];
    let ok = true;
    for (let i = 0; i < count && ok; i++) {
      const s = net.createServer();
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(base + i, '127.0.0.1', () => resolve(true));
      });
      if (ok) servers.push(s);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
}

/** `n` free ports on loopback (consecutive), outside the ephemeral range: see freePortRange. */
export async function freePorts(n: number): Promise<number[]> {
  const base = await freePortRange(n);
  return Array.from({ length: n }, (_, i) => base + i);
}
