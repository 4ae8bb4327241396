// Comparing secrets (API keys, tokens, CSRF tokens) without leaking their content or length
// through timing: both sides are hashed first, so the comparison is always 32 bytes.
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (text: string) => createHash('sha256').update(text).digest()

export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}
