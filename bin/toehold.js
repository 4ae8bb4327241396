#!/usr/bin/env node
// The installed `toehold` command: checks the Node version in syntax any Node can parse, then
// runs the JavaScript built into dist/ at pack time (`npm run build`). From a source checkout,
// `node bin/toehold.ts` runs the TypeScript directly.
const [major] = process.versions.node.split('.').map(Number)
if (major < 24) {
  process.stderr.write(
    `toehold needs Node.js 24 or newer; this is ${process.version} (${process.execPath}). Get it from https://nodejs.org/en/download or with \`nvm install 24\`.\n`,
  )
  process.exit(1)
}
// Stack traces of the relay and the agent (their logs) name the TypeScript lines. A client
// command answers in one line and is done in 50 ms, where the maps would add 6 MB: there,
// NODE_OPTIONS=--enable-source-maps turns them on.
if (process.argv[2] === 'relay' || process.argv[2] === 'agent') process.setSourceMapsEnabled(true)
import('../dist/toehold.js')
