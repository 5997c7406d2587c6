/** Renders rows as an aligned plain-text table (no colours: runbooks pipe and grep it). */
export function renderTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))]
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)))
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...cells.slice(1).map(line)].join('\n')
}

/** Renders rows as a GitHub-flavoured Markdown table (pipes escaped). */
export function renderMarkdownTable(headers: string[], rows: (string | number)[][]): string {
  const escape = (cell: string | number) => String(cell).replaceAll('|', '\\|')
  return [`| ${headers.map(escape).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`)].join('\n')
}
