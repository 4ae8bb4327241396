// `npm run demo` is the README's first promise: it must deploy twice through a real relay.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { it } from 'node:test'
import { ROOT } from './helpers/procs.ts'

it('runs the demo end to end and cleans up after itself', async () => {
  const child = spawn(process.execPath, ['demo/run.ts', '--exit'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  assert.equal(code, 0, out)
  assert.match(out, /relay answered the "git host": 202 \{"status":"queued","deployment":1/)
  assert.match(out, /→ Hello from the first commit/)
  assert.match(out, /→ Hello from the second commit/)
  assert.match(out, /API key: +thk_/)
  const temp = /--home (\S+)\/agent-home/.exec(out)?.[1]
  assert.ok(temp && !existsSync(temp), 'temp dir removed')
})
