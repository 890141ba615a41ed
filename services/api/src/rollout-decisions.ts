/**
 * The decisions people make about an Application's rollouts: approve or reject a Rollout that
 * waits (`POST /v1/rollouts/{name}/approve`, `/reject`), and undo (`POST
 * /v1/applications/{name}/undo`). Each runs in one transaction with the Application locked and goes
 * through the Application's expansion, so what an approval writes is exactly what any change
 * writes (schema, guardrails, references), and an approval applies only the changes the Rollout
 * showed: if the Application or its clusters changed since, a new proposal supersedes it.
 */
import { latestRollout, policyFor, previousRelease, tierKey, type PolicyRecord, type ReleaseRecord } from '@tugboat/applications';
import { APPLICATION, ConflictError, InputError, ROLLOUT, type Resource } from '@tugboat/resource-model';
import { expansionRefusal, type ApplicationExpansion, type ChildOutcome, type DeliveryRequest } from './application-expansion.js';
import { rolloutStatus, type RolloutDecision, type StoredRollout } from './application-delivery.js';
import type { ChangeRecorder } from './change-recorder.js';
import type { Actor } from './audit-trail.js';
import type { KindRegistry } from './kind-registry.js';
import { lockRow } from './lock-row.js';
import { notFound, toResource, type ObjectKey, type Tx } from './resource-row.js';

/** The role the caller approves in, given the roles a tier's policy names; throws the 403 when none. */
export type Approver = (policy: PolicyRecord) => string;

export interface RolloutDecisionInput {
  action: 'approve' | 'reject';
  message?: string;
  approver: Approver;
}

export interface RolloutDecisionResult {
  rollout: Resource;
  results: ChildOutcome[];
}

export interface UndoInput {
  tier?: string;
  release?: string;
  component?: string;
  /** The role the caller may approve in for this policy, `undefined` when it may not. */
  approverRole(policy: PolicyRecord): string | undefined;
}

export interface UndoResult {
  rollouts: Resource[];
  results: ChildOutcome[];
}

const MAX_MESSAGE = 1024;

export function createRolloutDecisions(options: { kinds: KindRegistry; write: ChangeRecorder['write']; applications: ApplicationExpansion }) {
  const { kinds, write, applications } = options;
  const { records } = applications;

  async function lockApplication(tx: Tx, project: string, name: string) {
    const app = await lockRow(tx, await kinds.getOrThrow(APPLICATION.kind), { project, name });
    if (app.deletion_requested_at) throw new ConflictError(`Application ${name} is being deleted: nothing rolls out any more`, { details: [{ path: 'spec.application', rule: 'deleting' }] });
    return app;
  }

  function checkMessage(message: string | undefined): void {
    if (message !== undefined && message.length > MAX_MESSAGE) throw new InputError(`message: longer than ${MAX_MESSAGE} characters`, { status: 422, details: [{ path: 'message', rule: 'maxLength' }] });
  }

  async function decideRollout(key: ObjectKey, input: RolloutDecisionInput, actor: Actor): Promise<RolloutDecisionResult> {
    checkMessage(input.message);
    const rolloutKind = await kinds.getOrThrow(ROLLOUT.kind);
    let supersededBy: string | undefined;
    const answer = await write(
      async (tx) => {
        // The Application first, then the Rollout: the order every expansion takes its locks in
        // (the Rollout is only read here to find its Application; read again once that is locked).
        const peek = await tx.selectFrom('resources').select('spec').where('kind', '=', ROLLOUT.kind).where('project', '=', key.project).where('name', '=', key.name).executeTakeFirst();
        if (!peek) throw notFound(rolloutKind, key);
        const appName = (peek.spec as { application: { name: string } }).application.name;
        const app = await lockApplication(tx, key.project, appName);
        const rollout = (await records.rolloutsOf(tx, app)).find((r) => r.name === key.name);
        if (!rollout) throw notFound(rolloutKind, key);
        if (rollout.state !== 'PendingApproval' && rollout.state !== 'Waiting') {
          const why = (rollout.row.status as { message?: string }).message;
          throw new ConflictError(`Rollout ${key.name} is ${rollout.state}${why ? ` (${why})` : ''}: only a Rollout that waits for a decision can be ${input.action === 'approve' ? 'approved' : 'rejected'}`, {
            details: [{ path: 'status.state', rule: 'decided', message: rollout.state }],
          });
        }
        const policy = policyFor(rollout.tier, await records.policies(tx));
        const role = input.approver(policy);
        const decision: RolloutDecision = { action: input.action, by: actor.name, ...(role ? { role } : {}), at: new Date().toISOString(), ...(input.message ? { message: input.message } : {}) };
        if (input.action === 'reject') {
          const who = `rejected by ${actor.name}${role ? ` (${role})` : ''}${input.message ? `: ${input.message}` : ''}`;
          const done = await records.setState(tx, rollout, rolloutStatus('Rejected', `${who}; tier ${rollout.tier} keeps what it runs`, { decision }), actor);
          return { rollout: toResource(done.row), results: [] };
        }
        if (rollout.state === 'Waiting') {
          throw new ConflictError(`Rollout ${key.name} rolls out by itself once ${(rollout.row.status as { waitingFor?: string }).waitingFor ?? 'its required tier is Ready'}`, {
            details: [{ path: 'status.state', rule: 'waiting' }],
          });
        }
        const request: DeliveryRequest = { approve: { rollout, decision }, written: [] };
        const results = await applications.expand(tx, app, actor, undefined, request);
        const refusal = expansionRefusal(app.name, results);
        if (refusal) throw refusal;
        if (!request.approve?.applied) {
          // Committed (the new proposal is kept), then answered as the conflict it is.
          supersededBy = request.approve?.supersededBy ?? '';
          return { rollout: toResource(rollout.row), results };
        }
        const fresh = request.written?.find((r) => r.name === key.name) ?? rollout;
        return { rollout: toResource(fresh.row), results };
      },
      { action: input.action, kind: ROLLOUT.kind, ...key, actor, ...(input.message ? { detail: { message: input.message } } : {}) },
    );
    if (supersededBy !== undefined) {
      const instead = supersededBy ? `: the Application or its clusters changed since it was proposed; decide ${supersededBy} instead` : ': its tier already runs what it proposed';
      throw new ConflictError(`Rollout ${key.name} was not applied${instead}`, { details: [{ path: 'metadata.name', rule: 'superseded', message: supersededBy || 'nothing to change' }] });
    }
    return answer;
  }

  async function undoApplication(key: ObjectKey, input: UndoInput, actor: Actor): Promise<UndoResult> {
    return write(
      async (tx) => {
        const app = await lockApplication(tx, key.project, key.name);
        const releases = await records.releasesOf(tx, app);
        const rollouts = await records.rolloutsOf(tx, app);
        const known = [...new Set(rollouts.map((r) => r.tier))];
        if (input.tier !== undefined && !known.includes(tierKey(input.tier))) {
          throw new InputError(`tier: Application ${key.name} has not rolled out to tier ${input.tier} (${known.join(', ') || 'no tier yet'})`, { status: 422, details: [{ path: 'tier', rule: 'tier' }] });
        }
        const named = input.release === undefined ? undefined : releases.find((r) => r.name === input.release);
        if (input.release !== undefined && !named) {
          throw new InputError(`release: "${input.release}" is not a Release of Application ${key.name}`, { status: 422, details: [{ path: 'release', rule: 'reference' }] });
        }
        if (named && input.component !== undefined && named.component !== input.component) {
          throw new InputError(`component: release ${named.name} is of component ${named.component}, not ${input.component}`, { status: 422, details: [{ path: 'component', rule: 'component' }] });
        }
        const components = named ? [named.component] : input.component !== undefined ? [input.component] : [...new Set(releases.map((r) => r.component))];
        const pins = new Map<string, Map<string, ReleaseRecord>>();
        const nothing: string[] = [];
        for (const tier of input.tier !== undefined ? [tierKey(input.tier)] : known) {
          const history = rollouts.filter((r) => r.tier === tier);
          const running = latestRollout(history, ['Applied']);
          const pin = new Map<string, ReleaseRecord>();
          for (const component of components) {
            const target = named ?? previousRelease(component, releases, history);
            const current = running?.releases.find((r) => r.component === component)?.release;
            if (target && target.name !== current) pin.set(component, target);
            else nothing.push(`tier ${tier} ${target ? `already runs ${target.name}` : `never ran an earlier release of ${component}`}`);
          }
          if (pin.size > 0) pins.set(tier, pin);
        }
        if (pins.size === 0) throw new ConflictError(`nothing to undo: ${nothing.join('; ')}`, { details: [{ path: input.tier === undefined ? 'tier' : 'release', rule: 'nothing-to-undo' }] });
        const decide = (policy: PolicyRecord): RolloutDecision | undefined => {
          const at = new Date().toISOString();
          if (policy.mode === 'automatic') return { action: 'automatic', by: actor.name, at, message: 'undo' };
          const role = input.approverRole(policy);
          return role === undefined ? undefined : { action: 'approve', by: actor.name, role, at, message: 'undo' };
        };
        const request: DeliveryRequest = { cause: 'undo', undo: { pins, decide }, written: [] };
        const results = await applications.expand(tx, app, actor, undefined, request);
        const refusal = expansionRefusal(app.name, results);
        if (refusal) throw refusal;
        return { rollouts: (request.written ?? []).map((r: StoredRollout) => toResource(r.row)), results };
      },
      { action: 'undo', kind: APPLICATION.kind, ...key, actor },
    );
  }

  return { decideRollout, undoApplication };
}
