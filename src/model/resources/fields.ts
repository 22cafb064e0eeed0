// Field types shared by several kinds: CIDRs, IPs, ports, protocols, durations, AS numbers.
//
// Calico's validator distinguishes "net" (an IP, or a CIDR with no host bits set) from "cidr"
// (any CIDR; host bits ignored). Ports are an integer or a string: "80", "1000:2000" or a named
// port. Protocols are TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1–255.

import * as v from 'valibot';
import { CIDRParseError, parseCIDR, tryParseIP, type CIDR } from '../../ip/index.js';
import { check, str } from '../schema-kit.js';

/** A "net": an IP address or a strictly masked CIDR. Returns the CIDR or a message. */
export function parseNet(text: string): CIDR | string {
  try {
    return parseCIDR(text, { lenient: !text.includes('/') });
  } catch (e) {
    if (!(e instanceof CIDRParseError)) throw e;
    return `${JSON.stringify(text)} is not a valid IP network: ${e.reason}`;
  }
}

/** A "cidr": an IP address or any CIDR (host bits are masked off). */
export function parseLooseCIDR(text: string): CIDR | string {
  try {
    return parseCIDR(text, { lenient: true });
  } catch (e) {
    if (!(e instanceof CIDRParseError)) throw e;
    return `${JSON.stringify(text)} is not a valid CIDR: ${e.reason}`;
  }
}

export const netField = () =>
  v.pipe(
    str(),
    check('net', (s: string) => {
      const r = parseNet(s);
      return typeof r === 'string' ? r : undefined;
    }),
  );

export const cidrField = () =>
  v.pipe(
    str(),
    check('cidr', (s: string) => {
      const r = parseLooseCIDR(s);
      return typeof r === 'string' ? r : undefined;
    }),
  );

export function ipProblem(s: string, family?: 4 | 6): string | undefined {
  const a = tryParseIP(s);
  if (a === undefined) return `${JSON.stringify(s)} is not a valid IP address`;
  if (family !== undefined && a.family !== family) return `${JSON.stringify(s)} is not an IPv${family} address`;
  return undefined;
}

export const ipField = (family?: 4 | 6) =>
  v.pipe(
    str(),
    check('ip', (s: string) => ipProblem(s, family)),
  );

// ---- Ports ----------------------------------------------------------------------------------

export type PortValue = number | string;

/** The parsed meaning of a port value. */
export type ParsedPort = { kind: 'range'; min: number; max: number } | { kind: 'named'; name: string };

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function parsePort(p: PortValue): ParsedPort | string {
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < 1 || p > 65535) return `port ${p} is out of range; ports are 1–65535`;
    return { kind: 'range', min: p, max: p };
  }
  const range = /^(\d+)(?::(\d+))?$/.exec(p);
  if (range !== null) {
    const min = Number(range[1]);
    const max = range[2] === undefined ? min : Number(range[2]);
    if (min < 1 || max > 65535 || min > 65535) return `port range ${JSON.stringify(p)} is invalid: port numbers must be between 1 and 65535`;
    if (min > max) return `port range ${JSON.stringify(p)} is invalid: the first port must not be above the second (e.g. "1000:2000")`;
    return { kind: 'range', min, max };
  }
  if (p.includes(':')) return `port range ${JSON.stringify(p)} is invalid: write "min:max" with two numbers (e.g. "1000:2000")`;
  if (p.length > 15 || !PORT_NAME.test(p) || !/[a-z]/.test(p) || p.includes('--')) {
    return `${JSON.stringify(p)} is neither a port number, a range "min:max", nor a valid port name (at most 15 lower-case letters, digits and single "-", with at least one letter)`;
  }
  return { kind: 'named', name: p };
}

export const portField = () =>
  v.pipe(
    v.union([v.number(), v.string()], (i) => `must be a port number, a "min:max" range or a port name, not ${JSON.stringify(i.input)}`),
    check('port', (p: PortValue) => {
      const r = parsePort(p);
      return typeof r === 'string' ? r : undefined;
    }),
  );

// ---- Protocols ------------------------------------------------------------------------------

export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;
const PROTOCOL_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, ICMP: 1, ICMPv6: 58, SCTP: 132, UDPLite: 136 };

export function protocolProblem(p: number | string): string | undefined {
  if (typeof p === 'number' || /^\d+$/.test(p)) {
    const n = Number(p);
    return Number.isInteger(n) && n >= 1 && n <= 255 ? undefined : `protocol number ${p} is invalid; use 1–255`;
  }
  if ((PROTOCOL_NAMES as readonly string[]).includes(p)) return undefined;
  const hint = PROTOCOL_NAMES.find((n) => n.toLowerCase() === p.toLowerCase());
  return `protocol ${JSON.stringify(p)} is invalid; use one of ${PROTOCOL_NAMES.join(', ')} or a number 1–255${hint === undefined ? '' : ` (did you mean ${hint}?)`}`;
}

/** The protocol number for a name or number, or undefined if unknown. */
export function protocolNumber(p: number | string): number | undefined {
  if (typeof p === 'number') return p;
  if (/^\d+$/.test(p)) return Number(p);
  return PROTOCOL_NUMBERS[p];
}

export const protocolField = () =>
  v.pipe(
    v.union([v.number(), v.string()], (i) => `must be a protocol name or number, not ${JSON.stringify(i.input)}`),
    check('protocol', (p: number | string) => protocolProblem(p)),
  );

/** TCP, UDP and SCTP carry ports. */
export function protocolSupportsPorts(p: number | string | undefined): boolean {
  if (p === undefined) return false;
  const n = protocolNumber(p);
  return n === 6 || n === 17 || n === 132;
}

// ---- Other scalars --------------------------------------------------------------------------

/** A Go duration as Kubernetes writes it ("90s", "1m30s", "500ms"). */
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^0$/;
export const durationField = () =>
  v.pipe(
    str(),
    check('duration', (s: string) => (s === '' || DURATION.test(s) ? undefined : `${JSON.stringify(s)} is not a duration; write e.g. "90s", "5m" or "1h30m"`)),
  );

/** An AS number: 1–4294967295, as a number or in asdot form "a.b". */
export function asNumberProblem(a: number | string): string | undefined {
  if (typeof a === 'number') {
    return Number.isInteger(a) && a >= 0 && a <= 4294967295 ? undefined : `AS number ${a} is out of range; use 0–4294967295`;
  }
  const m = /^(\d+)(?:\.(\d+))?$/.exec(a);
  if (m === null) return `AS number ${JSON.stringify(a)} is invalid; use a number or the dotted form "a.b"`;
  const hi = Number(m[1]);
  if (m[2] === undefined) return hi <= 4294967295 ? undefined : `AS number ${a} is out of range`;
  const lo = Number(m[2]);
  return hi <= 65535 && lo <= 65535 ? undefined : `AS number ${JSON.stringify(a)} is invalid: both parts of "a.b" must be at most 65535`;
}

export const asNumberField = () =>
  v.pipe(
    v.union([v.number(), v.string()], (i) => `must be an AS number, not ${JSON.stringify(i.input)}`),
    check('as-number', (a: number | string) => asNumberProblem(a)),
  );

/** Linux interface names as Calico's validator accepts them ("*" where allowed). */
export const INTERFACE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;
