// The Lab's handle on the delay emulator process: starts it in the wan namespace, waits until its TUN is up,
// and turns the line protocol (emulator-protocol.ts) into awaitable calls.
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LabProcess, LabSpawnOptions } from './process-tracker.js';
import type { EmulatorCommand, EmulatorReady, EmulatorReply, EmulatorStats } from './emulator-protocol.js';

// Compiled next to this file: dist/test/lab/delay-emulator.js.
const EMULATOR_SCRIPT = fileURLToPath(new URL('./delay-emulator.js', import.meta.url));
const REPLY_TIMEOUT_MS = 5000;

type Waiter = { resolve: (r: EmulatorReply) => void; reject: (e: Error) => void };

export class EmulatorClient {
  private readonly waiting: Waiter[] = [];
  private failure: Error | null = null;

  private constructor(readonly proc: LabProcess) {}

  /** Starts the emulator through `spawnInWan` (the lab's tracked spawn) and waits for its TUN. */
  static async start(
    spawnInWan: (argv: string[], opts: LabSpawnOptions) => LabProcess,
    tunName: string,
    timeoutMs = 10_000,
  ): Promise<EmulatorClient> {
    const proc = spawnInWan([process.execPath, EMULATOR_SCRIPT, '--tun', tunName], {
      name: 'delay-emulator',
      stdin: 'pipe',
      stdout: 'pipe',
    });
    const client = new EmulatorClient(proc);
    const lines = createInterface({ input: proc.stdout! });
    const ready = new Promise<EmulatorReady>((resolve, reject) => {
      let first = true;
      lines.on('line', (line) => {
        if (first) {
          first = false;
          try {
            resolve(JSON.parse(line) as EmulatorReady);
          } catch {
            reject(new Error(`delay emulator said ${line}`));
          }
          return;
        }
        client.onReply(line);
      });
      void proc.exited.then((e) => {
        const err = new Error(
          `delay emulator exited (code ${e.code}, signal ${e.signal}): ${proc.readLogs().trim().slice(-2000)}`,
        );
        client.fail(err);
        reject(err);
      });
      setTimeout(() => reject(new Error('delay emulator did not start in time')), timeoutMs).unref();
    });
    // stdin errors (EPIPE once it has exited) surface through `exited`, not as an uncaught error.
    proc.stdin!.on('error', () => {});
    try {
      const r = await ready;
      if (!r.ready) throw new Error(`delay emulator failed to start: ${r.error}`);
    } catch (err) {
      await proc.stop(1000);
      throw err;
    }
    return client;
  }

  /** Delays a→b and b→a by delayMs ± jitterMs each way (only a→b with oneWay). Site indexes. */
  async set(a: number, b: number, delayMs: number, jitterMs = 0, oneWay = false): Promise<void> {
    await this.request({ op: 'set', a, b, delayMs, jitterMs, oneWay });
  }

  async clear(a: number, b: number, oneWay = false): Promise<void> {
    await this.request({ op: 'clear', a, b, oneWay });
  }

  async stats(): Promise<EmulatorStats> {
    const r = await this.request({ op: 'stats' });
    if (!r.ok || !r.stats) throw new Error('delay emulator sent no stats');
    return r.stats;
  }

  /** Closes its stdin, which makes it exit; kills it if it does not within the grace period. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.stdin!.end();
      const timer = new Promise((r) => setTimeout(r, graceMs).unref());
      await Promise.race([this.proc.exited, timer]);
    }
    await this.proc.stop(1000);
  }

  private async request(cmd: EmulatorCommand): Promise<EmulatorReply> {
    if (this.failure) throw this.failure;
    const reply = new Promise<EmulatorReply>((resolve, reject) => {
      // A missing reply means replies and requests no longer line up: the emulator is unusable from here.
      const timer = setTimeout(
        () => this.fail(new Error(`no reply from delay emulator to ${cmd.op} within ${REPLY_TIMEOUT_MS} ms`)),
        REPLY_TIMEOUT_MS,
      );
      timer.unref();
      this.waiting.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
    const r = await reply;
    if (!r.ok) throw new Error(`delay emulator refused ${JSON.stringify(cmd)}: ${r.error}`);
    return r;
  }

  private onReply(line: string): void {
    const w = this.waiting.shift();
    if (!w) return;
    try {
      w.resolve(JSON.parse(line) as EmulatorReply);
    } catch {
      w.reject(new Error(`bad reply from delay emulator: ${line}`));
    }
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
