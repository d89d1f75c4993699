// Loopback STAND-INS for HashiCorp Vault (KV v2) and AWS Secrets Manager. Neither server can run
// on this machine, so the real clients (fetch against Vault's HTTP API; the official AWS SDK) are
// driven against these small servers, which speak the documented wire protocols: Vault's JSON
// envelopes with `{errors: [...]}` bodies and 400 on a check-and-set mismatch, and AWS's JSON 1.1
// with X-Amz-Target and `__type` errors. They are not Vault or AWS; the same conformance suite
// runs against the real services when STRAND_TEST_VAULT_ADDR / STRAND_TEST_AWS_REGION are set.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface StandIn {
  readonly url: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return `http://127.0.0.1:${addr.port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface VaultVersion {
  data: Record<string, unknown>;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface VaultStandIn extends StandIn {
  readonly rootToken: string;
  readonly roleId: string;
  readonly secretId: string;
  /** Revokes every token that AppRole issued, as their TTL running out would. */
  expireAppRoleTokens(): void;
  readonly requests: { method: string; path: string }[];
}

export async function startVaultStandIn(): Promise<VaultStandIn> {
  const rootToken = `hvs.${randomBytes(12).toString('hex')}`;
  const roleId = randomUUID();
  const secretId = randomUUID();
  const tokens = new Set([rootToken]);
  const issued = new Set<string>();
  const kv = new Map<string, { current: number; versions: Map<number, VaultVersion>; created: string }>();
  const requests: { method: string; path: string }[] = [];

  const send = (res: ServerResponse, status: number, body?: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const envelope = (data: unknown) => ({ request_id: randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth: null });
  const meta = (v: number, x: VaultVersion) => ({ created_time: x.created_time, custom_metadata: null, deletion_time: x.deletion_time, destroyed: x.destroyed, version: v });

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const method = req.method ?? 'GET';
      requests.push({ method, path: url.pathname });
      const text = await readBody(req);
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (url.pathname === '/v1/auth/approle/login' && method === 'POST') {
        if (body.role_id !== roleId || body.secret_id !== secretId) return send(res, 400, { errors: ['invalid role or secret ID'] });
        const t = `hvs.${randomBytes(12).toString('hex')}`;
        tokens.add(t);
        issued.add(t);
        return send(res, 200, { ...envelope(null), auth: { client_token: t, accessor: randomUUID(), policies: ['default', 'strand'], lease_duration: 3600, renewable: true } });
      }
      if (!tokens.has(String(req.headers['x-vault-token'] ?? ''))) return send(res, 403, { errors: ['permission denied'] });
      const m = /^\/v1\/secret\/(data|metadata)\/?(.*)$/.exec(url.pathname);
      if (!m) return send(res, 404, { errors: [`no handler for route "${url.pathname}"`] });
      const [, kind, rawPath] = m as unknown as [string, string, string];
      const path = decodeURIComponent(rawPath.replace(/\/$/, ''));
      if (kind === 'metadata' && (method === 'LIST' || url.searchParams.get('list') === 'true')) {
        const prefix = path ? `${path}/` : '';
        const keys = new Set<string>();
        for (const k of kv.keys()) {
          if (!k.startsWith(prefix)) continue;
          const rest = k.slice(prefix.length);
          const slash = rest.indexOf('/');
          keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
        }
        if (keys.size === 0) return send(res, 404, { errors: [] });
        return send(res, 200, envelope({ keys: [...keys].sort() }));
      }
      const entry = kv.get(path);
      if (kind === 'metadata') {
        if (method === 'DELETE') {
          kv.delete(path);
          return send(res, 204);
        }
        if (!entry) return send(res, 404, { errors: [] });
        const versions = Object.fromEntries([...entry.versions].map(([v, x]) => [String(v), { created_time: x.created_time, deletion_time: x.deletion_time, destroyed: x.destroyed }]));
        return send(res, 200, envelope({ current_version: entry.current, oldest_version: 1, max_versions: 0, cas_required: false, created_time: entry.created, updated_time: entry.versions.get(entry.current)?.created_time, versions }));
      }
      if (method === 'GET') {
        const want = url.searchParams.has('version') ? Number(url.searchParams.get('version')) : (entry?.current ?? 0);
        const x = entry?.versions.get(want === 0 ? (entry?.current ?? 0) : want);
        if (!entry || !x || x.destroyed || x.deletion_time) return send(res, 404, { errors: [] });
        return send(res, 200, envelope({ data: x.data, metadata: meta(want || entry.current, x) }));
      }
      if (method === 'POST' || method === 'PUT') {
        const cas = (body.options as { cas?: number } | undefined)?.cas;
        const current = entry?.current ?? 0;
        if (cas !== undefined && cas !== current) return send(res, 400, { errors: ['check-and-set parameter did not match the current version'] });
        const e = entry ?? { current: 0, versions: new Map<number, VaultVersion>(), created: new Date().toISOString() };
        const x: VaultVersion = { data: body.data as Record<string, unknown>, created_time: new Date().toISOString(), deletion_time: '', destroyed: false };
        e.current += 1;
        e.versions.set(e.current, x);
        kv.set(path, e);
        return send(res, 200, envelope(meta(e.current, x)));
      }
      return send(res, 405, { errors: [`unsupported operation`] });
    })().catch((err: unknown) => send(res, 500, { errors: [String(err)] }));
  });
  const url = await listen(server);
  return {
    url,
    rootToken,
    roleId,
    secretId,
    requests,
    expireAppRoleTokens: () => {
      for (const t of issued) tokens.delete(t);
      issued.clear();
    },
    close: () => closeServer(server),
  };
}

interface AwsVersion {
  id: string;
  binary?: string;
  string?: string;
  created: number;
  stages: Set<string>;
}

export interface AwsStandIn extends StandIn {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly targets: string[];
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startAwsStandIn(): Promise<AwsStandIn> {
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(20).toString('base64');
  const region = 'eu-west-1';
  const secrets = new Map<string, { arn: string; versions: AwsVersion[] }>();
  const targets: string[] = [];
  const now = () => Date.now() / 1000;

  const find = (id: unknown) => {
    const s = secrets.get(String(id));
    if (!s) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  };
  const moveStage = (versions: AwsVersion[], stage: string, to: AwsVersion) => {
    const from = versions.find((v) => v.stages.has(stage) && v !== to);
    from?.stages.delete(stage);
    to.stages.add(stage);
    if (stage === 'AWSCURRENT' && from) {
      for (const v of versions) v.stages.delete('AWSPREVIOUS');
      from.stages.add('AWSPREVIOUS');
    }
  };
  const view = (name: string, arn: string, v: AwsVersion) => ({
    ARN: arn,
    Name: name,
    VersionId: v.id,
    ...(v.binary !== undefined ? { SecretBinary: v.binary } : {}),
    ...(v.string !== undefined ? { SecretString: v.string } : {}),
    VersionStages: [...v.stages],
    CreatedDate: v.created,
  });

  const ops: Record<string, (b: Record<string, unknown>) => unknown> = {
    CreateSecret: (b) => {
      const name = String(b.Name);
      if (secrets.has(name)) throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
      const arn = `arn:aws:secretsmanager:${region}:000000000000:secret:${name}-${randomBytes(3).toString('hex')}`;
      const v: AwsVersion = { id: String(b.ClientRequestToken ?? randomUUID()), created: now(), stages: new Set(['AWSCURRENT']) };
      if (typeof b.SecretBinary === 'string') v.binary = b.SecretBinary;
      if (typeof b.SecretString === 'string') v.string = b.SecretString;
      secrets.set(name, { arn, versions: [v] });
      return { ARN: arn, Name: name, VersionId: v.id };
    },
    PutSecretValue: (b) => {
      const s = find(b.SecretId);
      const id = String(b.ClientRequestToken ?? randomUUID());
      const existing = s.versions.find((v) => v.id === id);
      if (existing) {
        if (existing.binary !== b.SecretBinary || existing.string !== b.SecretString) throw new AwsError('ResourceExistsException', `A resource with the ID you requested already exists.`);
        return { ARN: s.arn, Name: b.SecretId, VersionId: id, VersionStages: [...existing.stages] };
      }
      const v: AwsVersion = { id, created: now(), stages: new Set() };
      if (typeof b.SecretBinary === 'string') v.binary = b.SecretBinary;
      if (typeof b.SecretString === 'string') v.string = b.SecretString;
      s.versions.push(v);
      for (const stage of (b.VersionStages as string[] | undefined) ?? ['AWSCURRENT']) moveStage(s.versions, stage, v);
      return { ARN: s.arn, Name: b.SecretId, VersionId: id, VersionStages: [...v.stages] };
    },
    UpdateSecretVersionStage: (b) => {
      const s = find(b.SecretId);
      const stage = String(b.VersionStage);
      const holder = s.versions.find((v) => v.stages.has(stage));
      if (b.RemoveFromVersionId !== undefined && holder?.id !== b.RemoveFromVersionId) {
        throw new AwsError('InvalidParameterException', `The staging label ${stage} is not attached to version ${String(b.RemoveFromVersionId)}.`);
      }
      if (b.MoveToVersionId !== undefined) {
        if (holder && holder.id !== b.MoveToVersionId && b.RemoveFromVersionId === undefined) {
          throw new AwsError('InvalidParameterException', `The staging label ${stage} is currently attached to version ${holder.id}, but you didn't specify RemoveFromVersionId.`);
        }
        const to = s.versions.find((v) => v.id === b.MoveToVersionId);
        if (!to) throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret version.`);
        moveStage(s.versions, stage, to);
      } else {
        holder?.stages.delete(stage);
      }
      return { ARN: s.arn, Name: b.SecretId };
    },
    GetSecretValue: (b) => {
      const s = find(b.SecretId);
      const v = b.VersionId !== undefined ? s.versions.find((x) => x.id === b.VersionId) : s.versions.find((x) => x.stages.has(String(b.VersionStage ?? 'AWSCURRENT')));
      if (!v) throw new AwsError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for the requested version.`);
      return view(String(b.SecretId), s.arn, v);
    },
    ListSecretVersionIds: (b) => {
      const s = find(b.SecretId);
      const vs = s.versions.filter((v) => b.IncludeDeprecated === true || v.stages.size > 0);
      return { ARN: s.arn, Name: b.SecretId, Versions: vs.map((v) => ({ VersionId: v.id, VersionStages: [...v.stages], CreatedDate: v.created })) };
    },
    DescribeSecret: (b) => {
      const s = find(b.SecretId);
      return { ARN: s.arn, Name: b.SecretId, VersionIdsToStages: Object.fromEntries(s.versions.filter((v) => v.stages.size).map((v) => [v.id, [...v.stages]])) };
    },
    ListSecrets: () => ({ SecretList: [...secrets].map(([name, s]) => ({ ARN: s.arn, Name: name })) }),
    DeleteSecret: (b) => {
      const s = find(b.SecretId);
      secrets.delete(String(b.SecretId));
      return { ARN: s.arn, Name: b.SecretId, DeletionDate: now() };
    },
  };

  const server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      const reply = (status: number, body: unknown, type?: string) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), ...(type ? { 'x-amzn-errortype': type } : {}) });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      const auth = String(req.headers.authorization ?? '');
      if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
        return reply(400, { __type: 'SerializationException', message: 'expected a POST of application/x-amz-json-1.1' }, 'SerializationException');
      }
      if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${accessKeyId}/`)) {
        return reply(400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }, 'UnrecognizedClientException');
      }
      const op = target.startsWith('secretsmanager.') ? ops[target.slice('secretsmanager.'.length)] : undefined;
      if (!op) return reply(400, { __type: 'UnknownOperationException', message: '' }, 'UnknownOperationException');
      targets.push(target);
      try {
        reply(200, op(text ? (JSON.parse(text) as Record<string, unknown>) : {}));
      } catch (err) {
        if (err instanceof AwsError) reply(400, { __type: err.type, message: err.message }, err.type);
        else throw err;
      }
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'InternalServiceError', message: String(err) }));
    });
  });
  const url = await listen(server);
  return { url, accessKeyId, secretAccessKey, region, targets, close: () => closeServer(server) };
}
