// The programmatic API of secrets-toolkit. Commands are thin wrappers over these.
export {SecretValue, REDACTED, isSecretValue} from './lib/secret/secret-value.js'
export {ExitCode, ToolkitError, RefusedError, isToolkitError} from './lib/errors/errors.js'
export {loadConfig, parseConfig, findRegion, type LoadedConfig} from './lib/config/load.js'
export {regionEnvName, resolveVaultLogin} from './lib/config/credentials.js'
export type {ToolkitConfig, RegionConfig, VaultConfig} from './lib/config/schema.js'
export type {SecretStore, SecretData, SecretRecord, SecretMetadata, MetadataUpdate, WriteOptions} from './lib/vault/secret-store.js'
export {StoreRequestError} from './lib/vault/errors.js'
export {VaultKvStore} from './lib/vault/vault-kv-store.js'
export {VaultSys} from './lib/vault/vault-sys.js'
export {VaultHttp} from './lib/vault/vault-http.js'
export {connectRegion, type RegionVault} from './lib/vault/connect.js'
export {KubeClient, loadKubeConfig, FIELD_MANAGER, type SecretSpec} from './lib/kube/client.js'
export {PUSH_SECRET_API_VERSION} from './lib/eso/api.js'
export {compareRegions, DEFAULT_CONCURRENCY as COMPARE_DEFAULT_CONCURRENCY} from './lib/compare/compare.js'
export type {CompareOptions, RegionComparison, KeyDifference, KeyError, KeyState, RegionSide, DriftClass, PropertyDifference, MetadataDifference} from './lib/compare/types.js'
export {planRepair, type RepairPlan, type RepairStep, type RepairAction} from './lib/regions/plan.js'
export {applyRepair, type RepairResult, type StepOutcome} from './lib/regions/repair.js'
export {renderComparison} from './lib/compare/render.js'
export {renderPlan, renderRepairResult} from './lib/regions/render.js'
export {discoverSopsFiles, type Discovery, type FoundSopsFile} from './lib/migrate/discover.js'
export {mapSopsFile, loadMappingFile, findCollisions, MIGRATED_FROM_LABEL, SOURCE_ANNOTATION, type PlannedSecret, type MappingFile, type MappingOptions} from './lib/migrate/mapping.js'
export {buildMigrationPlan, remoteTargets, type MigrationPlan, type PlannedMigration, type RemoteTarget} from './lib/migrate/plan.js'
export {preflightMigration, applyMigration, writePushSecretManifests, type Preflight, type ApplyResult} from './lib/migrate/apply.js'
export {verifyMigration, findMigratedSecrets, type VerifyReport, type CheckRow, type CheckStatus} from './lib/migrate/verify.js'
export {buildPushSecret, DEFAULT_REMOTE_KEY_TEMPLATE, type PushSecretOptions} from './lib/eso/push-secret.js'
export {loadSpec, parseSpec, resolveGenerator, type BootstrapSpec, type SpecSecret, type LoadedSpec} from './lib/bootstrap/spec.js'
export {generatePassword} from './lib/bootstrap/generate.js'
export {planBootstrap, observeCluster, renderPlan as renderBootstrapPlan, type BootstrapPlan, type PlannedSecret as BootstrapPlannedSecret} from './lib/bootstrap/plan.js'
export {collectValues, parseStdinValues, valueProblem, type ValueSource} from './lib/bootstrap/values.js'
export {runWizard, type WizardResult} from './lib/bootstrap/wizard.js'
export {waitForVaults, compareRecord, type VaultCheck} from './lib/bootstrap/wait.js'
export {writeClusterManifests, clusterGeneratedObjects} from './lib/bootstrap/manifests.js'
export {initializeVault, checkInitVaultTerminal} from './lib/bootstrap/init-vault.js'
export {decryptSopsFile, resolveEngine, SopsError, isSopsError, type SopsEngine, type SopsErrorCode} from './lib/sops/decrypt.js'
export {detectSops, isSopsConfigFile, type SopsFormat} from './lib/sops/detect.js'
export {ArchiveChecker, inspectArchive, parseSha256Sums, parseRaftMeta, REQUIRED_MEMBERS, OPTIONAL_MEMBERS, type ArchiveInspection, type SnapshotProblem, type RaftMeta} from './lib/dr/archive.js'
export {verifySnapshotFile, type VerifyReport as SnapshotVerifyReport} from './lib/dr/verify.js'
export {readCatalog, type Catalog as SnapshotCatalog, type CatalogEntry as SnapshotCatalogEntry} from './lib/dr/catalog.js'
export {manifestSchema, snapshotName, parseSnapshotFileName, manifestPathFor, readManifest, type SnapshotManifest} from './lib/dr/manifest.js'
export {applyRetention, type RetentionRules} from './lib/dr/retention.js'
export {snapshotSteps, pruneStep, type SnapshotContext, type SnapshotOptions} from './lib/dr/save.js'
export {
  newRestoreContext,
  stageVerifySnapshot,
  stageConnect,
  stagePreflightTarget,
  safetySnapshotSteps,
  newSafetySnapshotContext,
  stageUpload,
  stageWaitHealthy,
  stagePostChecks,
  restoreSucceeded,
  type RestoreContext,
  type RestoreOptions,
  type RestorePlan,
} from './lib/dr/restore.js'
