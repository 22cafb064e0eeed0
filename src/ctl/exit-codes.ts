// tabbyctl's exit codes: one small, stable table that scripts can branch on.
//
//   0  success
//   1  invalid input or usage (bad flag, unreadable file, invalid document, bad selector, bad
//      datastore configuration) — nothing stored, unless the user asked for --continue-on-error
//   2  not found
//   3  already exists, or an update conflict (the resource changed since it was read)
//   4  datastore unavailable (unreachable, TLS failure, timeout)
//   5  a check found problems (`ipam check --exit-code`)
//
// Errors are classified by their stable `code` (every Tabby error class carries one), so a new
// command group needs no changes here as long as its errors use the datastore's codes.

export const ExitCode = {
  Ok: 0,
  Invalid: 1,
  NotFound: 2,
  Conflict: 3,
  Unavailable: 4,
  ProblemsFound: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Text for `--help`: the table above, for users. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  invalid input or usage (nothing was stored, unless --continue-on-error)
  2  resource not found
  3  resource already exists, or update conflict
  4  datastore unavailable
  5  a check found problems (ipam check --exit-code)`;

/** System error codes that mean "could not reach the datastore". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export function exitCodeFor(err: unknown): ExitCode {
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  switch (code) {
    case 'NotFound':
      return ExitCode.NotFound;
    case 'AlreadyExists':
    case 'Conflict':
      return ExitCode.Conflict;
    case 'Unavailable':
    case 'Compacted':
      return ExitCode.Unavailable;
    default:
      return typeof code === 'string' && UNREACHABLE.has(code) ? ExitCode.Unavailable : ExitCode.Invalid;
  }
}

/**
 * Combine the outcomes of several operations (with --continue-on-error): the first failure
 * decides, so the code says what went wrong first, and 0 only if everything succeeded.
 */
export function combineExitCodes(codes: readonly ExitCode[]): ExitCode {
  return codes.find((c) => c !== ExitCode.Ok) ?? ExitCode.Ok;
}
