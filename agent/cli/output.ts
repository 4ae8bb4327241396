// Human output: aligned columns, relative times, colour only on a TTY. --json prints data as is.
import { styleText } from 'node:util'

type Style = Parameters<typeof styleText>[0]

export const paint = (style: Style, text: string) =>
  styleText(style, text, { validateStream: true, stream: process.stdout })

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows
  // biome-ignore lint/suspicious/noControlCharactersInRegex: measuring text without ANSI colours
  const width = (cell: string) => cell.replace(/\u001b\[[0-9;]*m/g, '').length
  const widths = all.reduce<number[]>(
    (acc, row) => row.map((cell, i) => Math.max(acc[i] ?? 0, width(cell))),
    [],
  )
  const line = (row: string[]) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell)),
      )
      .join('  ')
      .trimEnd()
  return [...(header ? [paint('bold', line(header))] : []), ...rows.map(line)].join('\n')
}

const STATUS_STYLE: Record<string, Style> = {
  live: 'green',
  running: 'green',
  failed: 'red',
  crashed: 'red',
  crash_loop: 'red',
  queued: 'yellow',
  starting: 'yellow',
  superseded: 'gray',
  unchanged: 'gray',
  stopped: 'gray',
  not_deployed: 'gray',
}

export const status = (text: string) => paint(STATUS_STYLE[text] ?? 'reset', text)
