// Waiting without sleeps: for things that are pushed (log lines, frames, connections) a list
// whose future items can be awaited; for state only an API can tell, polling with a deadline.

/** An append-only list whose future items can be awaited by predicate. */
export class Waitable<T> {
  readonly items: T[] = []
  readonly #waiters = new Set<{ match: (item: T) => boolean; resolve: (item: T) => void }>()

  push(item: T): void {
    this.items.push(item)
    for (const waiter of this.#waiters) {
      if (waiter.match(item)) {
        this.#waiters.delete(waiter)
        waiter.resolve(item)
      }
    }
  }

  /** The first item (already there or still to come) matching. */
  until(match: (item: T) => boolean): Promise<T> {
    const seen = this.items.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.#waiters.add({ match, resolve }))
  }

  /** Like until, but settles with `fail`'s rejection if that comes first (the producer ended). */
  untilOr(match: (item: T) => boolean, fail: Promise<never>): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve }
      // Handled in every case: a failure after the match is nobody's error.
      fail.catch((error) => {
        if (this.#waiters.delete(waiter)) reject(error)
      })
      const seen = this.items.find(match)
      if (seen) resolve(seen)
      else this.#waiters.add(waiter)
    })
  }

  /** Resolves once there are at least n items. */
  async count(n: number): Promise<T[]> {
    if (this.items.length < n) await this.until(() => this.items.length >= n)
    return this.items.slice(0, n)
  }
}

/** Polls until `probe` returns something truthy; fails with `what` at the deadline. */
export async function until<T>(
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  what: string,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
