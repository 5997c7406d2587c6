// Jest loads globalSetup/globalTeardown without its module mapping, so a
// TypeScript setup that imports other TypeScript (`./environment.js` → .ts)
// cannot be loaded directly. These hooks compile the setup chain with tsc once
// per run, into a directory of this run's own (parallel runs must not share
// one), and import the JavaScript. Tests themselves still go through ts-jest.
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const outDir = resolve(root, 'test-output', `.build-${process.pid}`)
let compiled = false

export async function loadHook(name) {
  if (!compiled) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    execFileSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.test-env.json'), '--outDir', outDir], {cwd: root, stdio: 'inherit'})
    process.once('exit', () => rmSync(outDir, {recursive: true, force: true}))
    compiled = true
  }
  const module = await import(pathToFileURL(resolve(outDir, 'test/env', `${name}.js`)).href)
  return module.default
}
