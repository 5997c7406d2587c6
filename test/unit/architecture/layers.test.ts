import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

// The layer rules are only worth something if they fail: run the same
// dependency-cruiser config on tiny trees that break them, then on src/.
const root = resolve('.')
const config = join(root, '.dependency-cruiser.cjs')
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')

function cruise(cwd: string): {code: number | null; out: string} {
  const r = spawnSync(process.execPath, [depcruise, 'src', '--config', config, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
  })
  return {code: r.status, out: `${r.stdout}${r.stderr}`}
}

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'layers-'))
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext', strict: true}, include: ['src']}),
  )
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), {recursive: true})
    writeFileSync(join(dir, path), text)
  }
  return dir
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
})
function run(files: Record<string, string>) {
  const dir = fixture(files)
  dirs.push(dir)
  return cruise(dir)
}

describe('layer rules (.dependency-cruiser.cjs)', () => {
  it('fail on a domain module importing the CLI layer', () => {
    const r = run({
      'src/lib/migrate/plan.ts': "import {confirm} from '../cli/confirm.js'\nexport const plan = confirm\n",
      'src/lib/cli/confirm.ts': 'export const confirm = 1\n',
    })
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('no-ui-outside-cli')
    expect(r.out).toContain('src/lib/migrate/plan.ts')
  })

  it('fail on a domain module importing listr2', () => {
    const r = run({'src/lib/dr/save.ts': "import {Listr} from 'listr2'\nexport const l = Listr\n"})
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('no-ui-outside-cli')
  })

  it('fail on a cycle', () => {
    const r = run({
      'src/lib/migrate/a.ts': "import {b} from './b.js'\nexport const a = (): number => b()\n",
      'src/lib/migrate/b.ts': "import {a} from './a.js'\nexport const b = (): number => a()\n",
    })
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('no-circular')
  })

  it('fail on a client importing a domain, and on one domain importing another', () => {
    const r = run({
      'src/lib/vault/store.ts': "import {plan} from '../migrate/plan.js'\nexport const s = plan\n",
      'src/lib/migrate/plan.ts': "import {scan} from '../git/scan.js'\nexport const plan = scan\n",
      'src/lib/git/scan.ts': 'export const scan = 1\n',
    })
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('clients-not-up')
    expect(r.out).toContain('domains-independent')
  })

  it('fail on a folder under src/lib that belongs to no layer', () => {
    const r = run({
      'src/lib/newthing/a.ts': "import {fail} from '../errors/errors.js'\nexport const a = fail\n",
      'src/lib/errors/errors.ts': 'export const fail = 1\n',
    })
    expect(r.code).not.toBe(0)
    expect(r.out).toContain('every-folder-in-a-layer')
  })

  it('pass on arrows that point down', () => {
    const r = run({
      'src/commands/migrate/sops.ts': "import {plan} from '../../lib/migrate/plan.js'\nexport const c = plan\n",
      'src/lib/migrate/plan.ts': "import {store} from '../vault/store.js'\nexport const plan = store\n",
      'src/lib/vault/store.ts': "import {fail} from '../errors/errors.js'\nexport const store = fail\n",
      'src/lib/errors/errors.ts': 'export const fail = 1\n',
    })
    expect(r.out).not.toContain('error')
    expect(r.code).toBe(0)
  })

  it('find no process exit or signal handler below the CLI layer', () => {
    const offenders: string[] = []
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, {withFileTypes: true})) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) {
          if (path !== join(root, 'src', 'lib', 'cli')) walk(path)
        } else if (entry.name.endsWith('.ts') && /process\.exit\(|process\.(on|once|prependListener|prependOnceListener)\('SIG/.test(readFileSync(path, 'utf8'))) {
          offenders.push(path.slice(root.length + 1))
        }
      }
    }
    walk(join(root, 'src', 'lib'))
    expect(offenders).toEqual([])
  })

  it('pass on src/', () => {
    const r = cruise(root)
    expect(r.out).toContain('no dependency violations')
    expect(r.code).toBe(0)
  }, 60_000)
})
