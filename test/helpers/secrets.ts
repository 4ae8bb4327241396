// The one scan for leaked secrets: in output, API answers and every file of a directory, as the
// exact string and as base64 / base64url inside a longer encoded blob.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A string that appears nowhere else: to look for in stored bytes and logs. */
export const marker = (label: string) => `${label}-${randomBytes(18).toString('hex')}`

/**
 * What would betray `secret` in stored bytes: the exact string, and its base64 / base64url
 * forms at each of the three alignments it could sit at inside a longer encoded blob.
 */
export function revealing(secret: string): string[] {
  const bytes = Buffer.from(secret)
  const forms = [secret]
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64')
    const stable = encoded.slice(4, -4) // drops the chars shared with neighbours or padding
    forms.push(stable, stable.replaceAll('+', '-').replaceAll('/', '_'))
  }
  return forms
}

/** Every file under `dir`, raw bytes, with its path; files that vanish meanwhile are skipped. */
export function readTree(dir: string): { path: string; bytes: Buffer }[] {
  const files: { path: string; bytes: Buffer }[] = []
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    try {
      files.push({ path, bytes: readFileSync(path) })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return files
}

/**
 * Fails naming where a secret (or an encoding of it) appears: in one of `texts` (name → text) or
 * a file under one of `dirs` (except those `skip` keeps, e.g. the state that holds it by design).
 */
export function assertNoSecret(
  secrets: Record<string, string>,
  where: { texts?: Record<string, string>; dirs?: string[]; skip?: (path: string) => boolean },
): void {
  const places: [string, Buffer][] = Object.entries(where.texts ?? {}).map(([name, text]) => [
    name,
    Buffer.from(text),
  ])
  for (const dir of where.dirs ?? []) {
    for (const file of readTree(dir)) {
      if (!where.skip?.(file.path)) places.push([file.path, file.bytes])
    }
  }
  for (const [what, secret] of Object.entries(secrets)) {
    for (const form of revealing(secret)) {
      for (const [place, bytes] of places)
        assert.equal(bytes.includes(form), false, `${what} found in ${place} (as ${form})`)
    }
  }
}
