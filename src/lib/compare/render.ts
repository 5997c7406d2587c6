import {displayText, hasControlCharacters} from '../report/display.js'
import {renderMarkdownTable, renderTable} from '../report/table.js'
import type {KeyDifference, RegionComparison, RegionSide} from './types.js'

export type OutputFormat = 'table' | 'markdown'

/**
 * Key names are shown as they are, except when they hold characters that
 * would break a table or drive a terminal (C0/C1 controls, bidirectional
 * overrides): then escaped by displayText and quoted, so it shows.
 */
export function displayKey(key: string): string {
  return hasControlCharacters(key) ? `"${displayText(key)}"` : key
}

export function table(format: OutputFormat, headers: string[], rows: (string | number)[][]): string {
  return format === 'markdown' ? renderMarkdownTable(headers, rows) : renderTable(headers, rows)
}

export function heading(format: OutputFormat, text: string): string {
  return format === 'markdown' ? `### ${text}` : `${text}:`
}

function show(value: string | number | boolean | undefined): string {
  return value === undefined ? '(unset)' : JSON.stringify(value)
}

function versions(difference: KeyDifference, regions: [string, string]): string {
  const side = (region: string, state: RegionSide) => {
    if (state.state === 'absent') return `${region} —`
    const version = state.version === undefined ? '' : ` v${state.version}`
    return state.state === 'live' ? `${region}${version}` : `${region}${version} (${state.state})`
  }
  return regions.map((region) => side(region, difference.regions[region])).join(', ')
}

function details(difference: KeyDifference, regions: [string, string]): string {
  const parts: string[] = []
  if (difference.properties.length > 0) {
    parts.push(`properties: ${difference.properties.map((p) => (p.difference === 'differs' ? p.property : `${p.property} (${p.difference})`)).join(', ')}`)
  }
  for (const field of difference.metadata) {
    parts.push(`${field.field}: ${regions.map((region) => show(field.values[region])).join(' ≠ ')}`)
  }
  return parts.join('; ')
}

function timing(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function renderSummary(comparison: RegionComparison, format: OutputFormat): string {
  const [a, b] = comparison.regions
  const scope = [comparison.prefix ? `under "${comparison.prefix}"` : 'whole mount', ...(comparison.exclude.length ? [`excluding ${comparison.exclude.join(', ')}`] : [])].join(', ')
  const verdict = comparison.incomplete
    ? `INCOMPLETE: stopped early (${comparison.incomplete.code}); drift found so far: ${comparison.keysWithDrift} key(s); ${comparison.incomplete.keysNotCompared} listed key(s) not compared${comparison.errors.length > 0 ? `; ${comparison.errors.length} key(s) could not be read` : ''}`
    : comparison.errors.length > 0
      ? `INCOMPLETE: ${comparison.errors.length} key(s) could not be read; drift in the others: ${comparison.keysWithDrift} key(s)`
      : comparison.inSync
        ? 'IN SYNC'
        : `DRIFT: ${comparison.keysWithDrift} of ${comparison.keysCompared} key(s) differ`
  const lines = [`Compared ${a} and ${b} (${scope}): ${comparison.keysCompared} keys in ${timing(comparison.durationMs)} — ${verdict}`]
  if (comparison.incomplete) lines.push(`Stopped because: ${displayText(comparison.incomplete.message)}`)
  if (comparison.keysCompared === 0 && comparison.errors.length === 0 && !comparison.incomplete) {
    lines.push(`Note: neither region has any key ${comparison.prefix ? `under "${comparison.prefix}"` : 'in this mount'}; check --path if you expected some.`)
  }
  const counts = Object.entries(comparison.counts)
  lines.push('', table(format, ['class', 'keys'], counts.map(([name, count]) => [name, count])))
  return lines.join('\n')
}

export function renderDifferences(comparison: RegionComparison, format: OutputFormat): string {
  const parts: string[] = []
  if (comparison.differences.length > 0) {
    const rows = comparison.differences.map((difference) => [difference.classes.join(', '), displayKey(difference.key), details(difference, comparison.regions), versions(difference, comparison.regions)])
    parts.push(heading(format, 'Differences'), table(format, ['class', 'key', 'details', 'versions (information only)'], rows))
  }
  if (comparison.errors.length > 0) {
    parts.push(heading(format, 'Keys that could not be read'), table(format, ['key', 'region', 'error'], comparison.errors.map((e) => [displayKey(e.key), e.region, `${e.code}: ${e.message}`])))
  }
  return parts.join('\n\n')
}

export function renderComparison(comparison: RegionComparison, format: OutputFormat): string {
  return [renderSummary(comparison, format), renderDifferences(comparison, format)].filter(Boolean).join('\n\n')
}
