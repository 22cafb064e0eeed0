// Errors of the resource client, phrased in resources rather than keys.
//
// The datastore speaks keys and revisions; users speak kinds and names. `ResourceError` carries
// the stable `code` (the datastore's code, or `Invalid` for a request that can never succeed) and
// the resource it is about, so callers (tabbyctl's exit codes, other tools) can branch on `code`
// and print a message that names the resource the way calicoctl does: `IPPool(pool-a)`,
// `NetworkPolicy(default/allow-dns)`. Validation failures stay the model's `ValidationError`.

import { DatastoreError, type DatastoreErrorCode } from '../datastore/index.js';

export type ResourceErrorCode = DatastoreErrorCode;

/** The identity of a resource in messages: kind plus namespace/name. */
export interface ResourceRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export const describeRef = (ref: ResourceRef): string =>
  `${ref.kind}(${ref.namespace !== undefined ? `${ref.namespace}/` : ''}${ref.name})`;

export class ResourceError extends Error {
  override readonly name = 'ResourceError';
  constructor(
    readonly code: ResourceErrorCode,
    message: string,
    readonly resource?: ResourceRef,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isResourceError(err: unknown, code?: ResourceErrorCode): err is ResourceError {
  return err instanceof ResourceError && (code === undefined || err.code === code);
}

/** Translate a datastore failure about `ref` into a ResourceError with a resource-level message. */
export function fromDatastoreError(err: DatastoreError, ref: ResourceRef | undefined, actualRevision?: number): ResourceError {
  const what = ref ? describeRef(ref) : (err.key ?? 'resource');
  switch (err.code) {
    case 'NotFound':
      return new ResourceError('NotFound', `resource does not exist: ${what}`, ref, { cause: err });
    case 'AlreadyExists':
      return new ResourceError('AlreadyExists', `resource already exists: ${what}`, ref, { cause: err });
    case 'Conflict':
      return new ResourceError(
        'Conflict',
        `update conflict: ${what} has been modified${actualRevision !== undefined ? ` (now at resourceVersion ${actualRevision})` : ''}; ` +
          'get it again and retry with the current resourceVersion, or leave resourceVersion out',
        ref,
        { cause: err },
      );
    default:
      return new ResourceError(err.code, `${what}: ${err.message}`, ref, { cause: err });
  }
}

export const notFoundError = (ref: ResourceRef): ResourceError =>
  new ResourceError('NotFound', `resource does not exist: ${describeRef(ref)}`, ref);

/**
 * A batch larger than one transaction failed after earlier transactions were committed: those
 * resources are stored, the rest are not. Carries the underlying failure's code and cause.
 */
export class PartialBatchError extends Error {
  override readonly name = 'PartialBatchError';
  readonly code: string;
  constructor(
    readonly stored: number,
    readonly transactions: number,
    cause: unknown,
  ) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    super(`${inner}\n(the batch needed ${transactions} transactions; the ${stored} resource(s) of the transactions before the failing one were stored)`, { cause });
    this.code = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : 'Unavailable';
  }
}
