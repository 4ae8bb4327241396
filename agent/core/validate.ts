// Checks input against a valibot schema and gives the first problem in the agent's words: the
// path of the key it is about and a message that says what was expected. Valibot's own messages
// quote the input ('received "ghp_…"'); these never do, so a secret given in the wrong field is not
// echoed into an error, a log line or a terminal.
import * as v from 'valibot'

export type Problem = { path: (string | number)[]; message: string }

/** A string of 1 to `max` characters. */
export const text = (max: number) => v.pipe(v.string(), v.minLength(1), v.maxLength(max))

/** A string `problem` finds nothing wrong with; its message is what `problem` says. */
export const checked = (problem: (value: string) => string | null) =>
  v.pipe(
    v.string(),
    v.check(
      (value) => !problem(value),
      (issue) => problem(String(issue.input)) ?? '',
    ),
  )

const kindOf = (input: unknown) =>
  input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input

/** The message of an issue whose schema or action names none of its own. */
function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.path?.at(-1)?.origin === 'key')
    return issue.expected === 'never' ? 'unknown field' : 'missing'
  const { requirement } = issue
  switch (issue.type) {
    case 'picklist':
      return `expected one of ${issue.expected?.replace(/^\((.*)\)$/, '$1')}`
    case 'min_length':
      return requirement === 1 ? 'must not be empty' : `too short (at least ${requirement})`
    case 'max_length':
      return `too long (at most ${requirement})`
    case 'min_value':
      return `must be at least ${requirement}`
    case 'max_value':
      return `must be at most ${requirement}`
    case 'integer':
      return 'not a whole number'
    case 'starts_with':
      return `must start with ${JSON.stringify(requirement)}`
    case 'regex':
      return 'not in the expected format'
  }
  return issue.kind === 'schema'
    ? `expected ${issue.expected}, received ${kindOf(issue.input)}`
    : `invalid (${issue.type.replaceAll('_', ' ')})`
}

export function validate<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
): { output: v.InferOutput<S> } | { problem: Problem } {
  const parsed = v.safeParse(schema, value, { abortEarly: true, message: describe })
  if (parsed.success) return { output: parsed.output }
  const [issue] = parsed.issues
  const path = (issue.path ?? []).map((item) => item.key as string | number)
  return { problem: { path, message: issue.message } }
}
