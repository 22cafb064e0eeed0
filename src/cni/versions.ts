// CNI spec versions: which ones Tabby speaks and which operations each allows.
//
// Results are produced in 0.3.x/0.4.0 shape (ips[].version) or 1.x shape (see result.ts); the
// 0.1.0/0.2.0 result shape (ip4/ip6 objects) is not produced, so those versions are refused with
// code 1 like any other unsupported version. Operation gates follow libcni's skel: CHECK needs
// 0.4.0 or later, STATUS and GC need 1.1.0.

import { CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const CURRENT_VERSION: CniVersion = '1.1.0';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

export function isSemver(v: string): boolean {
  return SEMVER.test(v);
}

/** Negative, zero or positive as a is before, equal to or after b. Both must be semvers. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) throw new CniError(CniCode.DecodingFailure, `cannot compare CNI versions "${a}" and "${b}": each must look like 1.0.0`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupported(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** The version to answer in: the config's, which must be one we speak. */
export function requireSupported(v: string, where = 'cniVersion'): CniVersion {
  if (!isSemver(v)) {
    throw new CniError(CniCode.DecodingFailure, `${where} "${v}" is not a version like "1.0.0"`);
  }
  if (!isSupported(v)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `${where} "${v}" is not supported by this plugin; supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return v;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

/** Refuses an operation the config's version does not define (libcni skel, code 1). */
export function requireOperationAllowed(command: CniCommand, version: CniVersion): void {
  const minimum = command === 'CHECK' ? '0.4.0' : command === 'STATUS' || command === 'GC' ? '1.1.0' : undefined;
  if (minimum !== undefined && compareVersions(version, minimum) < 0) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `config version ${version} does not allow ${command}: it needs cniVersion ${minimum} or later`,
    );
  }
}

export function versionReply(inputVersion: string | undefined): { cniVersion: string; supportedVersions: string[] } {
  const v = inputVersion !== undefined && isSemver(inputVersion) ? inputVersion : CURRENT_VERSION;
  return { cniVersion: v, supportedVersions: [...SUPPORTED_VERSIONS] };
}
