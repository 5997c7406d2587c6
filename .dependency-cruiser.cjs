// The layers of src/, enforced by `npm run lint` (and test/unit/architecture/layers.test.ts).
//
//   commands      src/commands/**           oclif commands: flags, hooks, rendering
//   cli           src/lib/cli/**            the conversation: prompts, confirmation, rendering (listr2, inquirer, oclif)
//   domain        src/lib/{migrate,dr,regions,bootstrap,git,history,status}/**
//                                           what the tool does; receives hooks, never draws, prompts or exits
//   shared        src/lib/{compare}/**      domain logic two domains share (the region comparison); never a domain's own
//   clients       src/lib/{vault,kube,eso,sops,git-client,storage,gitops,metrics}/**
//                                           one narrow module per external system (git-client: running git,
//                                           its object stream; src/lib/git is the scan/scrub domain)
//   config        src/lib/config/**         read by clients (regions, credentials, kubeconfig), so below them
//   foundation    src/lib/{secret,errors,report,workflow,files,memory}/**
//                                           secret value, errors, display helpers, the domain-neutral stage runner,
//                                           regular-file opening, bounded memory for streaming commands
//
// An arrow may only point down. Domains do not import each other: what two
// domains share moves below both.
//
// KNOWN: rules the tree still breaks while the restructuring lands. Each entry
// names who removes it; remove it as soon as the import is gone (lint then
// proves it stays gone).

const DOMAIN = '^src/lib/(migrate|dr|regions|bootstrap|git|history|status)/'
const SHARED = '^src/lib/(compare)/'
const CLIENTS = '^src/lib/(vault|kube|eso|sops|git-client|storage|gitops|metrics)/'
const CONFIG = '^src/lib/config/'
const FOUNDATION = '^src/lib/(secret|errors|report|workflow|files|memory)/'
const CLI = '^src/lib/cli/'
const COMMANDS = '^src/commands/'
// Resolved (node_modules/...) and unresolved (bare name) forms both.
const UI_PACKAGES = '(^|node_modules/)(listr2|@inquirer/|inquirer|@oclif/)'

const KNOWN = {
  uiOutsideCli: [],
  domainToDomain: [],
  cycles: [],
}

const anyOf = (patterns) => (patterns.length > 0 ? `(${patterns.join('|')})` : '^$')

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle means two modules are one; split what both need into a lower module.',
      severity: 'error',
      from: {pathNot: anyOf(KNOWN.cycles)},
      to: {circular: true},
    },
    {
      name: 'no-ui-outside-cli',
      comment:
        'Only src/lib/cli and src/commands talk to the operator: everything below receives hooks for progress, prompts and cancellation.',
      severity: 'error',
      from: {path: '^src/lib/', pathNot: [CLI, anyOf(KNOWN.uiOutsideCli)]},
      to: {path: [UI_PACKAGES, CLI, COMMANDS]},
    },
    {
      name: 'cli-not-to-commands',
      comment: 'src/lib/cli serves the commands; it does not know them.',
      severity: 'error',
      from: {path: CLI},
      to: {path: COMMANDS},
    },
    {
      name: 'domains-independent',
      comment: 'A domain does not import another domain; what both need moves below both.',
      severity: 'error',
      from: {path: DOMAIN, pathNot: anyOf(KNOWN.domainToDomain)},
      to: {path: DOMAIN, pathNot: '^src/lib/$1/'},
    },
    {
      name: 'clients-not-up',
      comment: 'A client of an external system knows nothing of the domains, the CLI or the commands.',
      severity: 'error',
      from: {path: CLIENTS},
      to: {path: [DOMAIN, SHARED, CLI, COMMANDS]},
    },
    {
      name: 'shared-not-up',
      comment: 'What domains share sits below every domain.',
      severity: 'error',
      from: {path: SHARED},
      to: {path: [DOMAIN, CLI, COMMANDS]},
    },
    {
      name: 'config-not-up',
      comment: 'Configuration is read by clients, so it imports only the foundation.',
      severity: 'error',
      from: {path: CONFIG},
      to: {path: [CLIENTS, SHARED, DOMAIN, CLI, COMMANDS]},
    },
    {
      name: 'foundation-not-up',
      comment: 'The foundation (secret value, errors, report, workflow runner) imports nothing above it.',
      severity: 'error',
      from: {path: FOUNDATION},
      to: {path: [CONFIG, CLIENTS, SHARED, DOMAIN, CLI, COMMANDS]},
    },
    {
      name: 'every-folder-in-a-layer',
      comment: 'A new folder under src/lib belongs to a layer: add it to one of the lists at the top of this file.',
      severity: 'error',
      from: {path: '^src/lib/[^/]+/', pathNot: [DOMAIN, SHARED, CLIENTS, CONFIG, FOUNDATION, CLI]},
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would hide an arrow from these rules.',
      severity: 'error',
      from: {},
      to: {couldNotResolve: true, pathNot: UI_PACKAGES},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(dist|test-output)/'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
}
