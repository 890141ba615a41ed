/**
 * Which release each tier of an Application runs: pure functions over the Application's Releases
 * (oldest first) and one tier's Rollouts (its history, oldest first), shared by the API (which
 * writes the Rollouts) and the workload-controller and CLI (which read them).
 *
 * The rule, per tier and workload component, as a Kargo stage with auto-promotion would choose:
 * the newest Release of the component, unless that Release already appeared in a Rollout of the
 * tier (applied, rejected, undone or superseded: a Release is proposed to a tier once); otherwise
 * what the tier's latest live Rollout (applied, or waiting for a decision) carries. So a new
 * Release is proposed everywhere at once, a rejection sticks, and an undo holds until a newer
 * Release arrives.
 */
import { UNTIERED, type DeliveryMode, type RolloutChange, type RolloutRelease, type RolloutState } from '@tugboat/resource-model';

export type { RolloutChange, RolloutRelease };

export interface ReleaseRecord {
  name: string;
  component: string;
  /** `repo@sha256:…`. */
  image: string;
  commit: string;
  buildUrl?: string;
}

export interface RolloutRecord {
  name: string;
  tier: string;
  revision: number;
  state: RolloutState;
  releases: RolloutRelease[];
  changes: RolloutChange[];
  contentHash: string;
}

export interface PolicyRecord {
  name: string;
  tier: string;
  mode: DeliveryMode;
  approvers: string[];
  requires?: string;
}

/** The tier a child or cluster belongs to in Rollouts and policies (`default` without the label). */
export function tierKey(tier: string | undefined): string {
  return tier === undefined || tier === '' ? UNTIERED : tier;
}

/** The tier's policy; a tier without one is automatic. */
export function policyFor(tier: string, policies: readonly PolicyRecord[]): PolicyRecord {
  return policies.find((p) => p.tier === tier) ?? { name: '', tier, mode: 'automatic', approvers: [] };
}

const LIVE: readonly RolloutState[] = ['Applied', 'PendingApproval', 'Waiting'];

/** The newest Rollout of the tier in one of `states`. */
export function latestRollout(rollouts: readonly RolloutRecord[], states: readonly RolloutState[]): RolloutRecord | undefined {
  let found: RolloutRecord | undefined;
  for (const rollout of rollouts) if (states.includes(rollout.state) && (!found || rollout.revision > found.revision)) found = rollout;
  return found;
}

/** The release each component runs in the tier, by the rule above; `pinned` (an undo) wins for its components. */
export function chooseReleases(
  components: readonly string[],
  releases: readonly ReleaseRecord[],
  rollouts: readonly RolloutRecord[],
  pinned: ReadonlyMap<string, ReleaseRecord> = new Map(),
): Map<string, ReleaseRecord | undefined> {
  const byName = new Map(releases.map((r) => [r.name, r]));
  const live = latestRollout(rollouts, LIVE);
  const chosen = new Map<string, ReleaseRecord | undefined>();
  for (const component of components) {
    const pin = pinned.get(component);
    if (pin) {
      chosen.set(component, pin);
      continue;
    }
    const seen = new Set(rollouts.flatMap((r) => r.releases.filter((x) => x.component === component && x.release).map((x) => x.release!)));
    const own = releases.filter((r) => r.component === component);
    const newest = own[own.length - 1];
    if (newest && !seen.has(newest.name)) {
      chosen.set(component, newest);
      continue;
    }
    const current = live?.releases.find((x) => x.component === component)?.release;
    chosen.set(component, current === undefined ? undefined : byName.get(current));
  }
  return chosen;
}

/**
 * The release an undo goes back to: the one the tier ran before its current one (the latest
 * applied Rollout's), walking its applied history; `undefined` when it never ran another.
 */
export function previousRelease(component: string, releases: readonly ReleaseRecord[], rollouts: readonly RolloutRecord[]): ReleaseRecord | undefined {
  const applied = rollouts.filter((r) => r.state === 'Applied').sort((a, b) => b.revision - a.revision);
  const current = applied[0]?.releases.find((x) => x.component === component)?.release;
  for (const rollout of applied.slice(1)) {
    const release = rollout.releases.find((x) => x.component === component)?.release;
    if (release !== undefined && release !== current) return releases.find((r) => r.name === release);
  }
  return undefined;
}

/** `web=shop-web-3f2a… (sha256:3f2a…)`: one line of a Rollout's releases. */
export function describeReleases(releases: readonly RolloutRelease[]): string {
  if (releases.length === 0) return 'the definitions’ own images';
  return releases.map((r) => (r.release ? `${r.component}=${r.release} (${shortDigest(r.image)})` : `${r.component}=its definition's image`)).join(', ');
}

/** `sha256:3f2a9c1b7d0e` from `repo@sha256:3f2a9c1b7d0e…`. */
export function shortDigest(image: string | undefined): string {
  const at = image?.indexOf('@') ?? -1;
  return at < 0 || !image ? (image ?? '') : image.slice(at + 1, at + 1 + 'sha256:'.length + 12);
}
