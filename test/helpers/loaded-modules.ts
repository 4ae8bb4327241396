// `node --import` this file: every module the process loads (ESM and CommonJS), written one URL
// a line to $TOEHOLD_TEST_LOADED when it exits. test/lazy-loading.test.ts reads it.
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const loaded: string[] = []
registerHooks({
  load(url, context, next) {
    loaded.push(url)
    return next(url, context)
  },
})
process.on('exit', () => {
  const out = process.env.TOEHOLD_TEST_LOADED
  if (out) writeFileSync(out, loaded.join('\n'))
})
