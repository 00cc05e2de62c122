/** The access token of one `localist serve` start, and its constant-time check. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of randomness in a token: 256 bits, written as 64 hexadecimal digits. */
export const TOKEN_BYTES = 32;

export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

/**
 * Compares a received token with the expected one in time that does not
 * depend on where they differ. Both are hashed first, because
 * `timingSafeEqual` needs inputs of equal length and the length of the
 * received value must not shorten the comparison either.
 */
export function tokensEqual(received: string | undefined, expected: string): boolean {
  if (received === undefined) return false;
  const receivedDigest = createHash('sha256').update(received, 'utf8').digest();
  const expectedDigest = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(receivedDigest, expectedDigest);
}
