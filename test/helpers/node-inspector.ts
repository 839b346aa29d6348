/**
 * A Node process's inspector (the process started with
 * `--inspect=127.0.0.1:PORT`), driven over the DevTools protocol: just
 * enough to list its worker threads and evaluate an expression in one. A
 * worker thread has no pid to kill; the crash tests throw an uncaught error
 * in it this way, from outside the server, as a bug of ours would.
 */
import { WebSocket } from 'undici';
import { sleep } from './clients.js';

interface Message {
  id?: number;
  method?: string;
  params?: { sessionId?: string; message?: string; workerInfo?: { title: string } };
  result?: { result?: { value?: unknown }; exceptionDetails?: { text: string } };
  error?: { message: string };
}

export interface InspectedThread {
  sessionId: string;
  /** worker_threads' threadId (the title is "[worker N]"). */
  threadId: number;
}

export class NodeInspector {
  private nextId = 1;
  private readonly replies = new Map<string, (message: Message) => void>();
  private readonly attached: InspectedThread[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => this.receive(JSON.parse(String(event.data)) as Message));
  }

  /** Connects to the inspector on `port` (waiting for it for up to 10 s) and attaches to every worker thread, now and later. */
  static async connect(port: number): Promise<NodeInspector> {
    let url: string | undefined;
    for (let i = 0; i < 100 && !url; i++) {
      const list = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>, () => []);
      url = list[0]?.webSocketDebuggerUrl;
      if (!url) await sleep(100);
    }
    if (!url) throw new Error(`no Node inspector on port ${port}`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('inspector websocket failed')));
    });
    const inspector = new NodeInspector(ws);
    await inspector.call('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return inspector;
  }

  /** The worker threads attached so far (a respawned thread attaches too). */
  threads(): InspectedThread[] {
    return [...this.attached];
  }

  /** Evaluates `expression` in a worker thread; resolves with its JSON value. */
  async evaluate(thread: InspectedThread, expression: string): Promise<unknown> {
    const id = this.nextId++;
    const reply = new Promise<Message>((resolve) => this.replies.set(`${thread.sessionId}/${id}`, resolve));
    this.send('NodeWorker.sendMessageToWorker', { sessionId: thread.sessionId, message: JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, returnByValue: true } }) });
    const { result, error } = await withTimeout(reply, `evaluate in thread ${thread.threadId}`);
    if (error) throw new Error(error.message);
    if (result?.exceptionDetails) throw new Error(result.exceptionDetails.text);
    return result?.result?.value;
  }

  close(): void {
    this.ws.close();
  }

  private async call(method: string, params: object): Promise<void> {
    const id = this.nextId++;
    const reply = new Promise<Message>((resolve) => this.replies.set(`/${id}`, resolve));
    this.send(method, params, id);
    const { error } = await withTimeout(reply, method);
    if (error) throw new Error(`${method}: ${error.message}`);
  }

  private send(method: string, params: object, id = this.nextId++): void {
    this.ws.send(JSON.stringify({ id, method, params }));
  }

  private receive(message: Message): void {
    if (message.method === 'NodeWorker.attachedToWorker' && message.params?.sessionId) {
      const threadId = Number(/\[worker (\d+)\]/.exec(message.params.workerInfo?.title ?? '')?.[1] ?? -1);
      this.attached.push({ sessionId: message.params.sessionId, threadId });
    } else if (message.method === 'NodeWorker.receivedMessageFromWorker' && message.params?.message) {
      const inner = JSON.parse(message.params.message) as Message;
      this.settle(`${message.params.sessionId}/${inner.id}`, inner);
    } else if (message.id !== undefined) {
      this.settle(`/${message.id}`, message);
    }
  }

  private settle(key: string, message: Message): void {
    this.replies.get(key)?.(message);
    this.replies.delete(key);
  }
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`inspector: no answer to ${what} in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
