import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../load-tests/loopback.js';
import { agent, waitFor } from './clients.js';

export const hasPrometheus = (): boolean => ['prometheus', 'promtool'].every((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0);

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A real Prometheus on loopback scraping one voyandz (job "voyandz") every second. */
export class TestPrometheus {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(dir: string, target: number, ruleFiles: string[] = []): Promise<TestPrometheus> {
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: ${JSON.stringify(ruleFiles)}\n` +
        `scrape_configs:\n  - job_name: voyandz\n    static_configs: [{ targets: ["127.0.0.1:${target}"] }]\n`,
    );
    const port = await freePort();
    const child = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
      // Its own group: stopped as a whole, by pid.
      detached: true,
    });
    const prometheus = new TestPrometheus(child, port);
    try {
      await waitFor(async () => (await prometheus.query('up{job="voyandz"} == 1').catch(() => [])).length === 1, 20000, 200, 'Prometheus scraping voyandz');
    } catch (error) {
      prometheus.stop();
      throw error;
    }
    return prometheus;
  }

  async query(expr: string, time?: number): Promise<Sample[]> {
    const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
    const response = await request(`http://127.0.0.1:${this.port}/api/v1/query?${params.toString()}`, { dispatcher: agent });
    const body = (await response.body.json()) as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? body.status}`);
    return body.data.result;
  }

  async scalar(expr: string, time?: number): Promise<number> {
    return Number((await this.query(expr, time))[0]?.value[1] ?? NaN);
  }

  async api(path: string): Promise<unknown> {
    const response = await request(`http://127.0.0.1:${this.port}${path}`, { dispatcher: agent });
    return response.body.json();
  }

  stop(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
