// The process-wide budget for webhook bytes held in memory: request bodies being read, frames
// waiting on a tunnel's socket, envelopes being sealed or replayed. Whatever would pass it is
// refused (503) or waits, so many large webhooks at once cannot grow the relay out of its VM.

/** Bytes taken from the budget; freed when every holder has released it. */
export type Lease = {
  /** Takes `bytes` more for this lease; false (and nothing taken) when the budget lacks them. */
  grow(bytes: number): boolean
  /** One more holder (e.g. a socket still writing the frame): release() once each. */
  retain(): void
  release(): void
  /** True while more than one holder has it: its bytes must not be changed in place. */
  shared(): boolean
}

export type Budget = ReturnType<typeof createBudget>

export function createBudget(limit: number) {
  let used = 0
  const waiting = new Set<() => void>()

  const freed = () => {
    const woken = [...waiting]
    waiting.clear()
    for (const wake of woken) wake()
  }

  return {
    /** A lease on `bytes`, or null when they do not fit. */
    take(bytes: number): Lease | null {
      if (used + bytes > limit) return null
      used += bytes
      let held = bytes
      let holders = 1
      return {
        grow(more) {
          if (used + more > limit) return false
          used += more
          held += more
          return true
        },
        retain() {
          holders += 1
        },
        shared: () => holders > 1,
        release() {
          if (holders === 0) return
          holders -= 1
          if (holders > 0) return
          used -= held
          held = 0
          freed()
        },
      }
    },
    /** Calls `wake` once, the next time bytes are released. */
    whenFreed(wake: () => void): void {
      waiting.add(wake)
    },
    used: () => used,
    limit,
  }
}
