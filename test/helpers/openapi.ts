// Checks a fake git host's traffic against the host's published OpenAPI description: the route
// must exist, a JSON request body must match the operation's request schema, and a JSON answer
// the schema the description gives for that status. A small validator for the JSON Schema the
// descriptions use ($ref, allOf/anyOf/oneOf, type, nullable, enum, required, properties,
// additionalProperties, items); formats are not checked.
import { readFileSync } from 'node:fs'

type Schema = Record<string, unknown>
type Operation = {
  requestBody?: Schema
  responses?: Record<string, Schema>
}

export type ApiChecker = {
  /** Problems of one exchange, empty when it matches the description. */
  check(method: string, path: string, request: unknown, status: number, response: unknown): string[]
}

export function loadOpenApi(file: string): ApiChecker {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>
  }
  const deref = (node: Schema): Schema => {
    let current = node
    while (typeof current.$ref === 'string') {
      current = (current.$ref as string)
        .slice(2)
        .split('/')
        .reduce<Schema>((at, key) => at[key.replace(/~1/g, '/').replace(/~0/g, '~')] as Schema, doc)
    }
    return current
  }
  const routes = Object.entries(doc.paths).map(([template, operations]) => ({
    template,
    params: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    operations,
  }))

  function validate(value: unknown, node: Schema, at: string, problems: string[]): void {
    const schema = deref(node)
    if (
      value === null &&
      (schema.nullable === true || (Array.isArray(schema.type) && schema.type.includes('null')))
    )
      return
    if (Array.isArray(schema.allOf))
      for (const part of schema.allOf) validate(value, part as Schema, at, problems)
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = schema[key]
      if (Array.isArray(options)) {
        const fits = options.some((option) => {
          const inner: string[] = []
          validate(value, option as Schema, at, inner)
          return inner.length === 0
        })
        if (!fits) problems.push(`${at}: matches none of ${key}`)
      }
    }
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
      problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`)
    }
    const types = schema.type === undefined ? [] : ([] as unknown[]).concat(schema.type)
    if (types.length > 0) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
      const fits = types.some(
        (type) =>
          type === kind ||
          (type === 'integer' && Number.isInteger(value)) ||
          (type === 'number' && kind === 'number'),
      )
      if (!fits) {
        problems.push(`${at}: ${kind} where the description says ${types.join('|')}`)
        return
      }
    }
    if (Array.isArray(value) && schema.items) {
      for (const [i, item] of value.entries()) {
        validate(item, schema.items as Schema, `${at}[${i}]`, problems)
      }
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      for (const key of (schema.required ?? []) as string[]) {
        if (!(key in value)) problems.push(`${at}.${key}: required but missing`)
      }
      for (const [key, item] of Object.entries(value)) {
        if (properties[key]) validate(item, properties[key], `${at}.${key}`, problems)
        else if (schema.additionalProperties === false)
          problems.push(`${at}.${key}: not in the description`)
        else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          validate(item, schema.additionalProperties as Schema, `${at}.${key}`, problems)
        }
      }
    }
  }

  return {
    check(method, path, request, status, response) {
      const name = `${method} ${path}`
      const matches = routes.filter(
        (route) => route.pattern.test(path) && route.operations[method.toLowerCase()],
      )
      const route = matches.sort((a, b) => a.params - b.params)[0]
      if (!route) return [`${name}: no such operation in the description`]
      const operation = route.operations[method.toLowerCase()] as Operation
      const problems: string[] = []
      if (request !== undefined) {
        const body = operation.requestBody && deref(operation.requestBody)
        const schema = (body?.content as Record<string, Schema> | undefined)?.['application/json']
          ?.schema
        if (!schema) problems.push(`${name}: the description takes no JSON body`)
        else validate(request, schema as Schema, `${name} request`, problems)
      }
      const described = operation.responses?.[String(status)]
      if (!described) {
        problems.push(
          `${name}: status ${status} is not in the description (${Object.keys(operation.responses ?? {}).join(', ')})`,
        )
        return problems
      }
      const schema = (deref(described).content as Record<string, Schema> | undefined)?.[
        'application/json'
      ]?.schema
      if (schema && response !== undefined)
        validate(response, schema as Schema, `${name} ${status}`, problems)
      return problems
    },
  }
}
