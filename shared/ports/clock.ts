import type { Nanos } from '../domain/time.ts';

/** The only source of "now" for the core. Live: wall clock; backtests and tests: a TestClock. */
export interface Clock {
  /** Current time in integer nanoseconds since the Unix epoch. */
  now(): Nanos;
}

/** A clock that only moves when told to: backtests and deterministic tests. */
export class TestClock implements Clock {
  private t: Nanos;
  constructor(start: Nanos = 0n) {
    this.t = start;
  }
  now(): Nanos {
    return this.t;
  }
  set(t: Nanos): void {
    if (t < this.t) throw new RangeError(`clock cannot go backwards: ${t} < ${this.t}`);
    this.t = t;
  }
  advance(dt: Nanos): void {
    this.set(this.t + dt);
  }
}
