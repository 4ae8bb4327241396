// The rollback pin at deploy time: a deployment nobody asked for by hand (webhook, poll,
// convergence, recovery) does not put the commit rolled away from, or an older one, live again.
// A commit that is not an ancestor of the pinned one is new: it lifts the pin and deploys.
import { short } from '../core/format.ts'
import type { Db } from '../state/db.ts'
import { getPin, unpinApp } from '../state/pins.ts'
import { isAncestor, type Source } from './build/source.ts'
import type { DeployRequest } from './types.ts'

/** Why the pin keeps `commit` from going live, or null (the pin lifted when `commit` is newer). */
export async function pinHolds(
  db: Db,
  source: Source,
  request: DeployRequest,
  commit: string,
): Promise<string | null> {
  if (request.trigger === 'manual') return null
  const pin = getPin(db, source.app)
  if (!pin) return null
  if (await isAncestor(source, commit, pin.commit))
    return `pinned by the rollback to ${pin.release}: ${short(commit)} is not newer than ${short(pin.commit)}, the commit rolled away from (a new commit, or \`toehold deploy ${source.app}\`, lifts the pin)`
  unpinApp(db, source.app)
  return null
}
