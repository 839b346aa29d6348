import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { formatIssue } from '../src/config/config-error.js';
import { loadConfigText } from '../src/config/load.js';
import { findHaproxy, HAPROXY_CFG } from './helpers/relay.js';
import { findExecutable } from './helpers/executables.js';

const run = promisify(execFile);
const DEPLOY = join(fileURLToPath(new URL('../../', import.meta.url)), 'deploy');

test('deploy/voyandz.service passes systemd-analyze verify, with the sandbox and limits it promises', async (t) => {
  const unit = readFileSync(join(DEPLOY, 'voyandz.service'), 'utf8');
  for (const line of ['DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'LimitNOFILE=1048576', 'KillMode=mixed', 'ExecReload=kill -HUP $MAINPID']) {
    assert.ok(unit.split('\n').includes(line), `the unit says ${line}`);
  }
  const analyze = findExecutable('systemd-analyze');
  if (analyze === null) {
    t.skip('systemd-analyze is not installed: the unit was not verified');
    return;
  }
  const { stdout, stderr } = await run(analyze, ['verify', join(DEPLOY, 'voyandz.service')]);
  assert.equal(`${stdout}${stderr}`.trim(), '', 'systemd-analyze verify says nothing');
});

test('deploy/haproxy.cfg passes haproxy -c (e2e-relay runs it)', async (t) => {
  const haproxy = findHaproxy();
  if (haproxy === null) {
    t.skip('haproxy is not installed: the config was not checked');
    return;
  }
  const { stdout } = await run(haproxy, ['-c', '-f', HAPROXY_CFG]);
  assert.match(stdout, /Configuration file is valid/);
});

test('deploy/nginx.conf passes nginx -t and never buffers a stream', async (t) => {
  const conf = readFileSync(join(DEPLOY, 'nginx.conf'), 'utf8');
  assert.match(conf, /^\s*proxy_buffering off;/m);
  const nginx = process.env.VOYANDZ_NGINX ?? findExecutable('nginx');
  if (nginx === null) {
    t.skip('nginx is not installed (.ci/run unpacks Debian\'s into a temp dir and sets VOYANDZ_NGINX): the config was not checked');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-nginx-'));
  try {
    // Debian's nginx has its temp and log paths compiled in under /var (its package makes them): the copy checked points them here.
    const paths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${join(dir, kind)};`).join(' ');
    const copy = join(dir, 'nginx.conf');
    writeFileSync(copy, conf.replace(/^http \{$/m, `http {\n    access_log off; ${paths}`));
    const { stderr } = await run(nginx, ['-t', '-e', 'stderr', '-p', dir, '-c', copy, '-g', `pid ${join(dir, 'nginx.pid')};`]);
    assert.match(stderr, /test is successful/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

type Doc = { kind: string; metadata: { name: string }; [key: string]: unknown };
interface Container {
  command: string[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: string | number } };
  livenessProbe: { httpGet: { path: string; port: string | number } };
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; configMap: { name: string } }[];
}

test('deploy/kubernetes: origin and edge Deployments, Services and the autoscaler agree on names, ports, probes and configs', () => {
  const docs: Doc[] = [];
  for (const file of readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      docs.push(doc.toJS() as Doc);
    }
  }
  const find = (kind: string, name: string): Doc => {
    const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
    assert.ok(doc, `${kind} ${name}`);
    return doc;
  };
  const listenOf = new Map<string, { port: number; config: ReturnType<typeof loadConfigText>['config'] }>();
  for (const role of ['origin', 'edge']) {
    const name = `voyandz-${role}`;
    const deployment = find('Deployment', name) as Doc & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const http = container.ports.find((p) => p.name === 'http');
    assert.ok(http, `${name} names its port http`);
    for (const [probe, path] of [[container.readinessProbe, '/readyz'], [container.livenessProbe, '/healthz']] as const) {
      assert.equal(probe.httpGet.path, path);
      assert.ok(probe.httpGet.port === 'http' || probe.httpGet.port === http.containerPort, `${name}: ${path} probes the http port`);
    }
    // The config the pod runs, from its ConfigMap at the path its command names.
    const mount = container.volumeMounts.find((m) => container.command.includes(`${m.mountPath}/voyandz.yaml`));
    assert.ok(mount, `${name} runs the config it mounts`);
    const mapName = pod.volumes.find((v) => v.name === mount.name)?.configMap.name ?? '';
    const map = find('ConfigMap', mapName) as Doc & { data: Record<string, string> };
    const text = map.data['voyandz.yaml'] ?? '';
    const loaded = loadConfigText(text, `${mapName}/voyandz.yaml`);
    assert.deepEqual(loaded.issues.map(formatIssue), [], `${name}: its config loads without a problem`);
    assert.equal(loaded.config.listenport, http.containerPort, `${name} listens on its container port`);
    assert.equal(loaded.config.listenaddr, '0.0.0.0', `${name} listens on the pod's address`);
    listenOf.set(name, { port: http.containerPort, config: loaded.config });
    const service = find('Service', name) as Doc & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } };
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels, `the ${name} Service selects its pods`);
    assert.deepEqual(deployment.spec.template.metadata.labels, deployment.spec.selector.matchLabels);
    const target = service.spec.ports[0]?.targetPort;
    assert.ok(target === 'http' || target === http.containerPort, `the ${name} Service reaches the http port`);
  }
  const originService = find('Service', 'voyandz-origin') as Doc & { spec: { ports: { port: number }[] } };
  const edge = listenOf.get('voyandz-edge');
  const pulls = Object.values(edge?.config.streams ?? {}).map((s) => s.pull?.url ?? '');
  assert.ok(pulls.length > 0);
  for (const url of pulls) {
    const u = new URL(url);
    assert.equal(`${u.hostname}:${u.port}`, `voyandz-origin:${originService.spec.ports[0]?.port}`, `${url} pulls from the origin Service`);
    assert.ok(u.pathname.startsWith('/stream/') && Object.hasOwn(listenOf.get('voyandz-origin')?.config.streams ?? {}, u.pathname.slice(8)), `${url} is an origin stream`);
  }
  const hpa = find('HorizontalPodAutoscaler', 'voyandz-edge') as Doc & {
    apiVersion: string;
    spec: { scaleTargetRef: { kind: string; name: string }; metrics: { type: string; pods: { metric: { name: string } } }[] };
  };
  assert.equal(hpa.apiVersion, 'autoscaling/v2');
  assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', 'voyandz-edge']);
  assert.equal(hpa.spec.metrics[0]?.pods.metric.name, 'voyandz_stream_clients', 'scaled on viewers, a metric voyandz exports');
});
