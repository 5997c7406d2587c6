// The library API of secrets-toolkit, kept small on purpose: what a program
// needs to read SOPS files, talk to a secret store and compare two regions.
// Everything else under src/lib is internal and may change in any release;
// the README's "Library API" section documents these names.

// Values: every secret is a SecretValue, which redacts itself in logs, JSON and errors.
export {SecretValue, REDACTED, isSecretValue} from './lib/secret/secret-value.js'
// Errors: a ToolkitError carries a code, a hint and the exit code the CLI would use.
export {ExitCode, ToolkitError, isToolkitError} from './lib/errors/errors.js'

// Decrypting SOPS files (the sops binary when present, else the built-in age decryptor).
export {decryptSopsFile, resolveEngine, SopsError, isSopsError, type SopsEngine, type SopsErrorCode, type SopsFormat} from './lib/sops/decrypt.js'
export {detectSops} from './lib/sops/detect.js'

// The store interface every secret backend implements, its errors and capabilities.
export * from './lib/vault/secret-store.js'
// Vault regions from the toolkit's configuration file, as stores.
export {loadConfig, findRegion, type LoadedConfig} from './lib/config/load.js'
export type {ToolkitConfig, RegionConfig} from './lib/config/schema.js'
export {connectRegion} from './lib/vault/connect.js'

// Comparing two stores key by key (what `secrets verify regions` reports).
export {compareRegions} from './lib/compare/compare.js'
export type {CompareOptions, RegionComparison, KeyDifference, KeyError, DriftClass} from './lib/compare/types.js'
