// Jest loads globalSetup/globalTeardown without its module mapping, so a
// TypeScript setup that imports other TypeScript (`./environment.js` → .ts)
// cannot be loaded directly. These hooks compile the setup chain with tsc once
// per run (into test-output/.build, ignored by git and jest) and import the
// JavaScript. Tests themselves still go through ts-jest as usual.
import {execFileSync} from 'node:child_process'
import {createRequire} from 'node:module'
import {dirname, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
let compiled = false

export async function loadHook(name) {
  if (!compiled) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    execFileSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.test-env.json')], {cwd: root, stdio: 'inherit'})
    compiled = true
  }
  const module = await import(pathToFileURL(resolve(root, 'test-output/.build/test/env', `${name}.js`)).href)
  return module.default
}
