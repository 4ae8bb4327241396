// Registering an app's webhook on its git host, idempotently: list every hook of the repository,
// reuse the one at our URL (or the one we registered before, at an older URL), bring it to our
// secret/events/content type/active, delete every other hook at either URL, and create one only
// when none matched. Running it twice, or after a crash half way, ends in the same one hook.
import { HostError } from './http.ts'
import { type HookSpec, type HostApi, type RemoteHook, sameUrl } from './types.ts'

/** What the agent registered before: its hook id and the URL it pointed at then. */
export type KnownHook = { id: string | null; url: string | null }

export type Registration = {
  id: string
  /** True when no hook matched and a new one was made. */
  created: boolean
  /** Duplicates and hooks at the old URL that were deleted. */
  pruned: number
  /** The test delivery the host sends (`ping`, `push`), or null when it sends none. */
  test: string | null
}

const ours = (hook: RemoteHook, spec: HookSpec, known: KnownHook) =>
  sameUrl(hook.url, spec.url) || (known.url !== null && sameUrl(hook.url, known.url))

export async function registerHook(
  api: HostApi,
  spec: HookSpec,
  known: KnownHook,
): Promise<Registration> {
  const matching = (await api.listHooks()).filter((hook) => ours(hook, spec, known))
  // Prefer the hook at today's URL, then the one we registered, then any at the old URL.
  const keep =
    matching.find((hook) => sameUrl(hook.url, spec.url)) ??
    matching.find((hook) => hook.id === known.id) ??
    matching[0]
  let id: string
  let created = false
  if (keep) {
    await api.updateHook(keep.id, spec)
    id = keep.id
  } else {
    try {
      id = (await api.createHook(spec)).id
      created = true
    } catch (error) {
      // GitHub's 422 "Hook already exists": another registration won the race; take its hook.
      if (!(error instanceof HostError && error.status === 422)) throw error
      const raced = (await api.listHooks()).find((hook) => sameUrl(hook.url, spec.url))
      if (!raced) throw error
      await api.updateHook(raced.id, spec)
      id = raced.id
    }
  }
  let pruned = 0
  for (const hook of matching) {
    if (hook.id === id) continue
    await api.deleteHook(hook.id)
    pruned += 1
  }
  return { id, created, pruned, test: await api.testHook(id, created) }
}

/** Deletes the hook we registered and any other at our URL; returns how many went. */
export async function deregisterHook(api: HostApi, url: string, known: KnownHook): Promise<number> {
  const matching = (await api.listHooks()).filter(
    (hook) => hook.id === known.id || ours(hook, { url, secret: '' }, known),
  )
  for (const hook of matching) await api.deleteHook(hook.id)
  return matching.length
}
