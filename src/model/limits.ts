// How large a resource may be. etcd refuses a request over its --max-request-bytes (1.5 MiB by
// default) with a bare RESOURCE_EXHAUSTED; a resource is refused here first, named, with the limit
// stated, so `validate` says so before anything is written and `apply` never sends it. The limit
// leaves room for the key and the request's framing around the value.

/** etcd's default --max-request-bytes. */
export const ETCD_MAX_REQUEST_BYTES = 1_572_864;
/** The largest stored value (JSON, UTF-8) a resource may have. */
export const MAX_RESOURCE_BYTES = ETCD_MAX_REQUEST_BYTES - 8 * 1024;

/** The resource's size as stored (JSON text, UTF-8 bytes). */
export const storedSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** Why a value of `bytes` is too large to store, or undefined when it fits. */
export function sizeProblem(bytes: number): string | undefined {
  if (bytes <= MAX_RESOURCE_BYTES) return undefined;
  return `the resource is ${bytes} bytes as stored, over the ${MAX_RESOURCE_BYTES}-byte limit (etcd refuses requests over ${ETCD_MAX_REQUEST_BYTES} bytes, its default --max-request-bytes); split it into several resources`;
}
