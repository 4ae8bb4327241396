// `npm run build` (and `prepack`): the JavaScript npm installs, in dist/. Node does not strip
// types under node_modules, so the package cannot ship the TypeScript sources as they run here.
// esbuild bundles our own code (dependencies stay npm dependencies, resolved at run time) into
// one entry plus lazily loaded chunks: `relay` and `agent` remain dynamic imports, so a client
// command still loads no server code. The files read by URL at run time (the checkpoint worker,
// the dashboard's assets) are copied beside the chunks, where their `import.meta.url` points.
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const ROOT = new URL('..', import.meta.url).pathname
const DIST = join(ROOT, 'dist')

rmSync(DIST, { recursive: true, force: true })
await build({
  absWorkingDir: ROOT,
  entryPoints: { toehold: 'bin/toehold.ts' },
  outdir: DIST,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  packages: 'external',
  // Stack traces name the TypeScript files and lines (the shim turns source maps on); the
  // sources themselves stay out of the tarball.
  sourcemap: 'linked',
  sourcesContent: false,
  // Every chunk sits in dist/ itself, so `new URL('./x', import.meta.url)` finds the copies below.
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
})
cpSync(join(ROOT, 'agent/state/checkpoint-worker.js'), join(DIST, 'checkpoint-worker.js'))
cpSync(join(ROOT, 'agent/dashboard/assets'), join(DIST, 'assets'), { recursive: true })
