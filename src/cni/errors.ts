// CNI errors as the spec defines them (reference/cni-spec.md §5): a numeric code, a short `msg`
// and a longer `details`, printed as {"cniVersion","code","msg","details"} with a non-zero exit.
//
// Codes 0-99 are the spec's; 100+ are Tabby's own, stable and documented in the README.

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  /** libcni's ErrInvalidNetNS: CNI_NETNS is the plugin's own network namespace. */
  InvalidNetns: 8,
  TryAgainLater: 11,
  /** STATUS: cannot service ADD. */
  NotAvailable: 50,
  /** STATUS: cannot service ADD, and existing containers may have limited connectivity. */
  NotAvailableLimitedConnectivity: 51,
  /** Address management failed: no usable pool, pool exhausted, fixed address taken. */
  IpamFailure: 100,
  /** CHECK found the container's networking different from prevResult. */
  CheckFailed: 101,
  /** Programming links, addresses, routes or sysctls failed. */
  DataplaneFailure: 102,
  /** A datastore read or write failed for a reason other than a transient outage. */
  DatastoreFailure: 103,
  /** libcni's ErrInternal: anything unexpected. */
  Internal: 999,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

const DEFAULT_MSG: Record<number, string> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  8: 'invalid network namespace',
  11: 'try again later',
  50: 'plugin not available',
  51: 'plugin not available; existing containers may have limited connectivity',
  100: 'IP address management failed',
  101: 'container networking does not match prevResult',
  102: 'programming the dataplane failed',
  103: 'datastore operation failed',
  999: 'internal error',
};

export class CniError extends Error {
  override readonly name = 'CniError';
  readonly msg: string;
  constructor(
    readonly code: CniCodeValue,
    /** Long form: what was wrong, where, and what would be right. */
    readonly details: string,
    msg?: string,
    options?: { cause?: unknown },
  ) {
    super(details, options);
    this.msg = msg ?? DEFAULT_MSG[code] ?? 'error';
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details: string } {
    return { cniVersion, code: this.code, msg: this.msg, details: this.details };
  }
}

export const isCniError = (err: unknown): err is CniError => err instanceof CniError;
