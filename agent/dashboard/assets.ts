// The dashboard's two static files, read once at start. Their URLs carry a content hash, so a
// browser may cache them for good and still never runs a stale script after an upgrade.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Hono } from 'hono'

const TYPES = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
} as const

export type Asset = keyof typeof TYPES

const files = new Map(
  (Object.keys(TYPES) as Asset[]).map((name) => {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url))
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 10)
    return [name, { body, hash }]
  }),
)

export const assetUrl = (name: Asset) => `/assets/${name}?v=${files.get(name)?.hash}`

export const assetRoutes = () =>
  new Hono().get('/assets/:name', (c) => {
    const name = c.req.param('name') as Asset
    const file = files.get(name)
    if (!file) return c.json({ error: 'no such asset' }, 404)
    return c.body(new Uint8Array(file.body), 200, {
      'content-type': TYPES[name],
      'cache-control':
        c.req.query('v') === file.hash ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    })
  })
