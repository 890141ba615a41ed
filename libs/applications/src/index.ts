export type {
  ApplicationParameter,
  ApplicationSpec,
  ApplicationTarget,
  ChildKind,
  ClusterCandidate,
  ComponentType,
  DatabaseComponent,
  DesiredChild,
  Expansion,
  ParameterType,
  ParameterValue,
  ResolvedTarget,
  SecretComponent,
  WorkloadComponent,
} from './application-types.js';
export { checkComponents, childName, expandApplication, removalRank, selectTargets, type ApplicationInput, type ExpansionOptions } from './expand-application.js';
export {
  chooseReleases,
  describeReleases,
  latestRollout,
  policyFor,
  previousRelease,
  shortDigest,
  tierKey,
  type PolicyRecord,
  type ReleaseRecord,
  type RolloutChange,
  type RolloutRecord,
  type RolloutRelease,
} from './delivery.js';
export { BUILTIN_PARAMETERS, hasParameterType, MAX_SUBSTITUTED_LENGTH, resolveParameters, substituteParameters } from './substitute-parameters.js';
export {
  applicationStatusTree,
  formatApplicationTree,
  worstPhase,
  type ApplicationStatusFields,
  type ApplicationStatusTree,
  type ClusterStatus,
  type ComponentStatus,
  type TierDelivery,
} from './application-status.js';
export { isReadyNow, migrationOf, migrationOfOwned, migrationStep, wantedWorkloadCopies, type Migration, type WorkloadCopy } from './migration-replacement.js';
