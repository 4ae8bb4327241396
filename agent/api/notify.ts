// /notify: where deployment outcomes are posted. The json format's secret appears only in the
// answer that made the target; URLs are listed up to their host (a Slack URL is a secret).
import { Hono } from 'hono'
import * as v from 'valibot'
import { AppError } from '../core/errors.ts'
import { requireApp } from '../state/apps.ts'
import { addTarget, getTarget, listTargets, removeTarget, type Target } from '../state/notify.ts'
import { type ApiDeps, readJson } from './context.ts'
import { NOTIFY_FORMATS, NOTIFY_ON, type NotifyAdded, type NotifyTarget } from './contract.ts'

/** A target as the API and the dashboard show it: the URL only up to its host. */
export const shown = (target: Target): NotifyTarget => {
  const url = new URL(target.url)
  return {
    id: target.id,
    url: url.pathname === '/' && !url.search ? url.origin : `${url.origin}/…`,
    app: target.app,
    on: target.on,
    format: target.format,
    createdAt: new Date(target.createdAt).toISOString(),
  }
}

const NewTarget = v.object({
  url: v.pipe(
    v.string(),
    v.maxLength(2048),
    v.check(
      (text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol),
      'not an http(s) URL',
    ),
    v.check(
      (text) => !URL.canParse(text) || !new URL(text).username,
      'put credentials in the path or a token, not user:password@',
    ),
  ),
  app: v.nullish(v.string(), null),
  on: v.optional(v.picklist(NOTIFY_ON), 'failed'),
  format: v.optional(v.picklist(NOTIFY_FORMATS), 'json'),
})

const idOf = (text: string) => {
  const id = Number(text)
  if (!Number.isSafeInteger(id) || id < 1) throw new AppError(`no notification target ${text}`, 404)
  return id
}

export function notifyRoutes(deps: ApiDeps) {
  const { db } = deps
  return new Hono()
    .get('/notify', (c) => c.json(listTargets(db).map(shown)))
    .post('/notify', async (c) => {
      const body = await readJson(c, NewTarget)
      if (body.app !== null) requireApp(db, body.app)
      const target = addTarget(db, body)
      const added: NotifyAdded = { ...shown(target), secret: target.secret }
      return c.json(added, 201)
    })
    .delete('/notify/:id', (c) => {
      const id = idOf(c.req.param('id'))
      removeTarget(db, id)
      return c.json({ removed: id })
    })
    .post('/notify/:id/test', async (c) => {
      const target = getTarget(db, idOf(c.req.param('id')))
      if (!target) throw new AppError(`no notification target ${c.req.param('id')}`, 404)
      const reason = await deps.notifier.test(target, target.app ?? 'toehold')
      return c.json({ id: target.id, delivered: reason === null, reason })
    })
}
