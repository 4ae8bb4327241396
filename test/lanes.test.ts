// The per-app queue in-process, with a stubbed pipeline: one deployment at a time per app, the
// newest pending request wins, a debounce collapses a burst, forget/close abort and await.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Deployment } from '../agent/api/contract.ts'
import { createLanes } from '../agent/deploy/lanes.ts'

const deployment = (app: string, id: number) => ({ app, id }) as Deployment

/** A pipeline whose runs end when the test says so. */
function stubPipeline(debounce: Record<string, number> = {}) {
  const started: string[] = []
  const superseded: string[] = []
  const finish = new Map<string, () => void>()
  const aborted: string[] = []
  const lanes = createLanes<null>({
    run: (d, _request, signal) =>
      new Promise<void>((resolve) => {
        const name = `${d.app}#${d.id}`
        started.push(name)
        finish.set(name, resolve)
        signal.addEventListener('abort', () => {
          aborted.push(name)
          resolve()
        })
      }),
    superseded: (replaced, by) => superseded.push(`${replaced.app}#${replaced.id}>${by.id}`),
    debounceMs: (app) => debounce[app] ?? 0,
    crashed: () => assert.fail('no run throws here'),
  })
  const done = (name: string) => {
    const resolve = finish.get(name)
    assert.ok(resolve, `${name} is running`)
    resolve()
    return new Promise((r) => setImmediate(r))
  }
  return { lanes, started, superseded, aborted, done }
}

test('one deployment at a time per app; the newest pending one wins', async () => {
  const { lanes, started, superseded, done } = stubPipeline()
  lanes.enqueue(deployment('a', 1), null)
  lanes.enqueue(deployment('a', 2), null)
  lanes.enqueue(deployment('a', 3), null)
  lanes.enqueue(deployment('b', 1), null)
  assert.deepEqual(started, ['a#1', 'b#1'])
  assert.deepEqual(superseded, ['a#2>3'])
  await done('a#1')
  assert.deepEqual(started, ['a#1', 'b#1', 'a#3'])
  await done('a#3')
  await done('b#1')
  assert.equal(started.length, 3)
})

test('a debounce waits for the burst to end, then runs only the newest', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { lanes, started, superseded } = stubPipeline({ a: 1000 })
  lanes.enqueue(deployment('a', 1), null)
  t.mock.timers.tick(900)
  lanes.enqueue(deployment('a', 2), null)
  t.mock.timers.tick(900)
  assert.deepEqual(started, [])
  t.mock.timers.tick(100)
  assert.deepEqual(started, ['a#2'])
  assert.deepEqual(superseded, ['a#1>2'])
})

test('forget aborts the running deployment and drops the pending one; close stops everything', async () => {
  const { lanes, started, aborted } = stubPipeline()
  lanes.enqueue(deployment('a', 1), null)
  lanes.enqueue(deployment('a', 2), null)
  lanes.enqueue(deployment('b', 1), null)
  await lanes.forget('a')
  assert.deepEqual(aborted, ['a#1'])
  await lanes.close()
  assert.deepEqual(aborted, ['a#1', 'b#1'])
  lanes.enqueue(deployment('c', 1), null)
  assert.deepEqual(started, ['a#1', 'b#1'], 'nothing starts after close, and a#2 never ran')
})
