// Go-style durations as Calico's configuration writes them ("15m", "90s", "1h30m", "500ms", "0"). Pure.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class DurationParseError extends Error {
  override readonly name = 'DurationParseError';
  readonly code = 'Invalid';
}

/** Milliseconds in `text`; throws naming the text and the accepted forms. */
export function parseDuration(text: string, what = 'duration'): number {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (t === '' || matched !== t.length) throw new DurationParseError(`${what} "${text}" is not a duration; use forms like 30s, 15m, 1h30m or 0`);
  return Math.round(total);
}
