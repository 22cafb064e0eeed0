// HTTP endpoints of `tabby node` (Felix's health port, default 127.0.0.1:9099):
//   GET /liveness   200 while the supervisor runs and no child is given up on, else 503
//   GET /readiness  200 when every child reports ready, else 503 naming who is not and why
//   GET /metrics    Prometheus text exposition: the supervisor's series and every child's
//   GET /policy/stats  the policy dataplane's per-rule packet and byte counters (JSON), read from
//                   nft when asked (`tabbyctl policy stats`); 503 while the agent does not answer
// Bodies are JSON for the probes (a human or `curl` sees the reasons) and text for metrics.

import http from 'node:http';

export interface HealthReport {
  readonly ok: boolean;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface HealthSources {
  liveness(): HealthReport;
  readiness(): HealthReport;
  metrics(): Promise<string>;
  /** JSON text of the per-rule policy counters; undefined when the agent does not answer. */
  policyStats?(): Promise<string | undefined>;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveHealth(host: string, port: number, sources: HealthSources): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/liveness' || path === '/readiness') {
      const r = path === '/liveness' ? sources.liveness() : sources.readiness();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: r.ok, ...r.detail }) + '\n');
      return;
    }
    if (path === '/metrics') {
      sources.metrics().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/policy/stats' && sources.policyStats !== undefined) {
      sources.policyStats().then(
        (text) =>
          text === undefined
            ? res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'the dataplane agent did not answer (starting, restarting or busy)' }) + '\n')
            : res.writeHead(200, { 'content-type': 'application/json' }).end(text + '\n'),
        (err: Error) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message }) + '\n'),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /liveness, /readiness, /metrics or /policy/stats\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
