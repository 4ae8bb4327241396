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
process.setSourceMapsEnabled(true)
import('../dist/toehold.js')
