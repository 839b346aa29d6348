import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { sleep } from './clients.js';

/** The Chromium binary on PATH (or $CHROMIUM), or undefined when none is installed. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const found = spawnSync('sh', ['-c', `command -v "${c}"`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

interface CdpReply {
  id?: number;
  result?: { result?: { value?: unknown }; exceptionDetails?: unknown };
  error?: { message: string };
}

/**
 * A headless Chromium driven over the DevTools protocol: just enough to
 * evaluate a script in a blank page and get its (awaited) value back.
 */
export class HeadlessChromium {
  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
    private readonly ws: WebSocket,
  ) {}

  static async launch(binary: string): Promise<HeadlessChromium> {
    const profile = mkdtempSync(join(tmpdir(), 'voyandz-chromium-'));
    const child = spawn(
      binary,
      [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
        '--autoplay-policy=no-user-gesture-required', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank',
      ],
      // Its own process group: stopping it stops its renderer and GPU helpers too.
      { stdio: 'ignore', detached: true },
    );
    try {
      const portFile = join(profile, 'DevToolsActivePort');
      const deadline = Date.now() + 20000;
      while (!existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error('chromium did not start its DevTools server');
        await sleep(100);
      }
      const port = readFileSync(portFile, 'utf8').split('\n')[0]?.trim();
      let pageWs: string | undefined;
      for (let i = 0; i < 50 && !pageWs; i++) {
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
        pageWs = list.find((t) => t.type === 'page')?.webSocketDebuggerUrl;
        if (!pageWs) await sleep(100);
      }
      if (!pageWs) throw new Error('chromium has no page target');
      const ws = new WebSocket(pageWs);
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve());
        ws.addEventListener('error', () => reject(new Error('DevTools websocket failed')));
      });
      return new HeadlessChromium(child, profile, ws);
    } catch (error) {
      stopGroup(child);
      rmSync(profile, { recursive: true, force: true });
      throw error;
    }
  }

  private nextId = 1;

  /** Evaluates `expression` in the page, awaiting a returned promise; resolves with its JSON value. */
  async evaluate(expression: string, timeoutMs = 30000): Promise<unknown> {
    const reply = (await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, timeoutMs)) as CdpReply['result'];
    if (reply?.exceptionDetails) throw new Error(JSON.stringify(reply.exceptionDetails));
    return reply?.result?.value;
  }

  /** Opens `url` in the page (running `atStart` in it before any of its own scripts) and waits for its load event. */
  async navigate(url: string, atStart = ''): Promise<void> {
    await this.send('Page.enable', {});
    if (atStart) await this.send('Page.addScriptToEvaluateOnNewDocument', { source: atStart });
    await this.send('Page.navigate', { url });
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      const ready = await this.evaluate('location.href + " " + document.readyState').catch(() => '');
      if (ready === `${url} complete`) return;
      await sleep(50);
    }
    throw new Error(`${url} did not load`);
  }

  /** A PNG of the page as laid out at `width` CSS pixels (the full height of its content). */
  async screenshot(width: number, mobile = false): Promise<Buffer> {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height: 800, deviceScaleFactor: 1, mobile });
    const height = Number(await this.evaluate('document.documentElement.scrollHeight'));
    await this.send('Emulation.setDeviceMetricsOverride', { width, height: Math.min(4000, height), deviceScaleFactor: 1, mobile });
    const shot = (await this.send('Page.captureScreenshot', { format: 'png' })) as { data: string };
    return Buffer.from(shot.data, 'base64');
  }

  /** One DevTools command; resolves with its result. */
  send(method: string, params: Record<string, unknown>, timeoutMs = 30000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.removeEventListener('message', onMessage);
        reject(new Error(`DevTools ${method} timed out`));
      }, timeoutMs);
      const onMessage = (event: { data: unknown }): void => {
        const reply = JSON.parse(String(event.data)) as CdpReply;
        if (reply.id !== id) return;
        clearTimeout(timer);
        this.ws.removeEventListener('message', onMessage);
        if (reply.error) reject(new Error(reply.error.message));
        else resolve(reply.result);
      };
      this.ws.addEventListener('message', onMessage);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async close(): Promise<void> {
    this.ws.close();
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    stopGroup(this.child);
    await Promise.race([exited, sleep(5000)]);
    stopGroup(this.child, 'SIGKILL');
    rmSync(this.profile, { recursive: true, force: true });
  }
}

function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
