// Prometheus' own PromQL parser (github.com/prometheus/prometheus/promql/parser,
// a Go module through the module proxy), built once into the test cache as a
// tiny checker: it reads {"name": "expr", …} as JSON on stdin and prints one
// line per expression that does not parse, exiting 1 if any.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {goCommand} from './chart-helpers.js'

export const PROMETHEUS_MODULE_VERSION = 'v0.316.0'

const MAIN = `package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	var exprs map[string]string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Println("input is not a JSON object of strings:", err)
		os.Exit(2)
	}
	names := make([]string, 0, len(exprs))
	for name := range exprs {
		names = append(names, name)
	}
	sort.Strings(names)
	p := parser.NewParser(parser.Options{})
	failed := false
	for _, name := range names {
		if _, err := p.ParseExpr(exprs[name]); err != nil {
			fmt.Printf("%s: %v\\n", name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
`

function cacheDir(): string {
  return process.env.SECRETS_TOOLKIT_CACHE ?? join(process.env.HOME ?? '/root', '.cache/secrets-toolkit')
}

/** The checker's path, built on first use. */
export function requirePromqlChecker(): string {
  const binary = join(cacheDir(), 'testbin', `promql-check-${PROMETHEUS_MODULE_VERSION}`)
  if (existsSync(binary)) return binary
  const dir = join(cacheDir(), 'build', `promql-check-${process.pid}`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  mkdirSync(join(cacheDir(), 'testbin'), {recursive: true})
  try {
    writeFileSync(join(dir, 'main.go'), MAIN)
    writeFileSync(join(dir, 'go.mod'), `module promql-check\n\ngo 1.25\n\nrequire github.com/prometheus/prometheus ${PROMETHEUS_MODULE_VERSION}\n`)
    goCommand(['mod', 'tidy'], {cwd: dir})
    goCommand(['build', '-trimpath', '-o', `${binary}.partial`, '.'], {cwd: dir})
    renameSync(`${binary}.partial`, binary)
    return binary
  } catch (error) {
    throw new Error(`could not build the PromQL checker (${(error as Error).message.slice(0, 2000)}).\nIt needs Go and the Go module proxy (github.com/prometheus/prometheus ${PROMETHEUS_MODULE_VERSION}); see docs/testing.md.`)
  } finally {
    rmSync(dir, {recursive: true, force: true})
    rmSync(`${binary}.partial`, {force: true})
  }
}

/** The problems Prometheus' parser finds in these expressions (empty: all parse). */
export function promqlProblems(exprs: Record<string, string>): string[] {
  const result = spawnSync(requirePromqlChecker(), [], {input: JSON.stringify(exprs), encoding: 'utf8'})
  if (result.status === 2 || result.error) throw new Error(`the PromQL checker failed: ${result.stdout}${result.stderr}${result.error?.message ?? ''}`)
  return result.stdout.split('\n').filter(Boolean)
}
