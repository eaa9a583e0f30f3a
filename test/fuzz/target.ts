// What a fuzz target is. Adding one is one file in targets/ exporting a FuzzTarget, and one line in
// targets/index.ts. The engine (engine.ts) owns the loop: pick a seed, mutate it, load, execute
// (timed, anything thrown counts as an escaped exception), judge (untimed: what counts as an accepted
// forgery is the target's to say).
import type { Dictionary, Mutant, Seed } from './mutator.js';
import type { FuzzRng } from './rng.js';

export interface FuzzTarget {
  /** Short, kebab-case: `--target <name>`. */
  name: string;
  /** What is fed to which entry point, and what counts as an accepted forgery (printed by --list). */
  description: string;
  /** Share of the run's inputs relative to the other targets (about the inverse of its cost). */
  weight: number;
  setup(rng: FuzzRng): Promise<TargetRun> | TargetRun;
}

export interface TargetRun {
  /** Valid messages made by the project's encoders, with their fields described. */
  seeds: readonly Seed[];
  dictionary: Dictionary;
  /**
   * Untimed: turns the mutant into this input (re-MAC, re-sign or seal it, pick the receiver and the
   * source endpoint). May draw from `rng`.
   */
  load(mutant: Mutant, seed: Seed, rng: FuzzRng): void;
  /** Timed: hands the loaded input to the code under test. Must not throw; anything thrown escaped. */
  execute(): void;
  /** Untimed, after execute: undefined, or what was forged (the input was accepted with changes). */
  judge(): string | undefined;
  /** The loaded input in words, for failure reports (receiver, source endpoint, mode). */
  describe?(): string;
  /**
   * Exceptions the code under test caught itself and counted (a last-resort handler such as the
   * router's `internal-error`): bugs all the same, reported as escaped.
   */
  caughtInternally?(): number;
  /** Where the inputs went, e.g. "bad-mac 48%, bad-handshake 47%": shows how deep they reached. */
  outcomes?(): Map<string, number>;
  /** Called every `idleEvery` inputs: lets timers and queued deliveries run (in-process cluster). */
  idleEvery?: number;
  idle?(): Promise<void>;
  /** After the last input: each string returned is a failure (e.g. honest traffic no longer flows). */
  finish?(): Promise<string[]>;
  close?(): Promise<void> | void;
}
