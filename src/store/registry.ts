// Backend-neutral rules of the device registry: who may report, how codes are generated.
import { randomInt } from 'node:crypto';
import { RegistryRejectedError, type CodeStatus, type RegistryMode } from './types.js';

/**
 * What to do with a report from a dev_sno given its registry row: 'ok' (known, active),
 * 'register' (unknown, open mode: add it as source auto) or throw RegistryRejectedError.
 * A revoked code is refused in both modes: revoking must mean something.
 */
export function admitReport(devSno: string, code: { status: CodeStatus } | null, mode: RegistryMode): 'ok' | 'register' {
  if (code) {
    if (code.status === 'revoked') throw new RegistryRejectedError(devSno, 'revoked_code');
    return 'ok';
  }
  if (mode === 'strict') throw new RegistryRejectedError(devSno, 'unknown_code');
  return 'register';
}

const CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const CODE_LENGTH = 24;

/** A new authorization code shaped like the boxes' own (24 uppercase letters and digits). */
export function generateCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}
