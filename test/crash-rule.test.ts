// The supervisor's crash rule, in-process: backoff doubling within the window, capped, a crash
// loop at the limit, and old crashes forgotten.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  afterCrash,
  CRASH_LIMIT,
  CRASH_WINDOW_MS,
  MAX_BACKOFF_MS,
} from '../agent/deploy/run/crash-rule.ts'

test('the backoff doubles with each crash in the window until the crash loop', () => {
  let crashes: number[] = []
  const delays: (number | null)[] = []
  for (let i = 0; i < CRASH_LIMIT; i++) {
    const verdict = afterCrash(crashes, 1000 + i * 100, 250)
    crashes = verdict.crashes
    delays.push(verdict.restartInMs)
  }
  assert.deepEqual(delays, [250, 500, 1000, 2000, null])
  assert.equal(crashes.length, CRASH_LIMIT)
})

test('crashes older than the window are forgotten', () => {
  const old = [0, 1, 2, 3]
  const verdict = afterCrash(old, CRASH_WINDOW_MS + 10, 1000)
  assert.deepEqual(verdict, { crashes: [CRASH_WINDOW_MS + 10], restartInMs: 1000 })
})

test('the backoff is capped', () => {
  const verdict = afterCrash([1, 2, 3], 4, 20_000)
  assert.equal(verdict.restartInMs, MAX_BACKOFF_MS)
})
