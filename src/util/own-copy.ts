/**
 * A copy of `bytes` in memory of its own, for keeping: a request's buffer may be a view of a
 * larger one, and a slice of Node's shared pool would keep the whole pool alive.
 */
export function ownCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}
