/**
 * The support-services-controller's kill points, for crash-recovery tests (the hook is `KillPoint`
 * in `@tugboat/resource-model`). Each sits right after a call that changes something (Route 53,
 * Secrets Manager, a cluster) and before anything (status) records it:
 *
 *   dns.after-change   after the ChangeResourceRecordSets that writes an exposure's records
 *   dns.after-remove   after the one that removes them
 *   zone.after-create  after CreateHostedZone
 *   secret.after-write after the CreateSecret / PutSecretValue of a SecretInstance's value
 *   secret.after-delete after its DeleteSecret
 *   observability.after-apply after an ObservabilityInstance's objects are applied, before its status
 *   secret.after-store after the server-side apply of a ClusterSecretStore on a cluster
 *
 * `main.ts` arms one from `TUGBOAT_KILL_POINT` / `TUGBOAT_KILL_POINT_AFTER` only when
 * `TUGBOAT_TEST_HOOKS=1` is set as well, as the other controllers do.
 */
export const SUPPORT_KILL_POINTS = ['dns.after-change', 'dns.after-remove', 'zone.after-create', 'secret.after-write', 'secret.after-delete', 'observability.after-apply', 'secret.after-store'] as const;
