// Benchmarks start tunnels (wireguard-go, the floor forwarder) whose set-up can fail half way, with
// processes already running: those must be stopped before the error goes on, or they outlive the run.

export interface Stoppable {
  stop(): Promise<void>;
}

/** Runs `work`; if it throws, stops `started` (whatever of it is up) and throws the error on. */
export async function orStop<R>(started: Stoppable, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (err) {
    await started.stop();
    throw err;
  }
}
