// Progress lines for long lab commands: one line per step, with the time since the command began.

export type ProgressSink = (line: string) => void;

export class Progress {
  private readonly started = Date.now();
  constructor(private readonly sink: ProgressSink) {}

  step(text: string): void {
    const s = ((Date.now() - this.started) / 1000).toFixed(2).padStart(6);
    this.sink(`[${s}s] ${text}`);
  }

  /** Runs `work`, then prints `text` (or what `describe` makes of the result) with the elapsed time. */
  async track<T>(text: string | ((r: T) => string), work: () => Promise<T>): Promise<T> {
    const r = await work();
    this.step(typeof text === 'string' ? text : text(r));
    return r;
  }
}
