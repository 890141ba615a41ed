/**
 * Secret fields of a spec: sealed on the way in (the stored spec holds REDACTED in their place),
 * opened only for validation, merge patches and the secrets endpoint.
 */
import { InputError, REDACTED } from '@tugboat/resource-model';
import type { SealedSecret } from './database-schema.js';
import type { RegisteredKind } from './kind-registry.js';
import { cloneJson, deletePath, getPath, jsonEqual, setPath, type JsonObject } from './json-value.js';
import { DetailCollector } from './resource-input.js';
import type { Row } from './resource-row.js';
import { secretContext, storedSecretContext, type SecretBox } from './secret-box.js';

/** A validated spec as it is stored: in clear with secrets REDACTED, and the sealed secrets. */
export interface PreparedSpec {
  stored: JsonObject;
  sealed: Record<string, SealedSecret>;
}

export type SpecSealer = ReturnType<typeof createSpecSealer>;

export function createSpecSealer(secrets: SecretBox) {
  function openSecrets(row: Pick<Row, 'uid' | 'secrets'>): Record<string, unknown> {
    const sealed = row.secrets as Record<string, SealedSecret>;
    return Object.fromEntries(Object.entries(sealed).map(([path, box]) => [path, secrets.open(box, storedSecretContext(row.uid, path, box))]));
  }

  /** The spec with secrets in clear: only for validation and merge patches, never returned. */
  function plaintextSpec(row: Row): JsonObject {
    const spec = cloneJson(row.spec as JsonObject);
    for (const [path, value] of Object.entries(openSecrets(row))) setPath(spec, path, value);
    return spec;
  }

  /**
   * Validates a spec and splits it into what is stored in clear (secrets replaced by REDACTED) and
   * the sealed secrets. `"<redacted>"` sent back for a secret keeps the stored value.
   */
  function prepareSpec(kind: RegisteredKind, uid: string, spec: JsonObject, existing?: Row): PreparedSpec & { secretsChanged: boolean } {
    const plain = cloneJson(spec);
    const previous = existing ? openSecrets(existing) : {};
    const problems = new DetailCollector();
    // `"<redacted>"` where none is stored: "not set yet", so one manifest serves before and after
    // `tug secret set` (re-applying it keeps the value set since) — unless the schema requires it.
    const unset: string[] = [];
    for (const path of kind.definition.secretFields) {
      if (getPath(plain, path) !== REDACTED) continue;
      if (Object.hasOwn(previous, path)) setPath(plain, path, previous[path]);
      else {
        deletePath(plain, path);
        unset.push(path);
      }
    }
    const violations = kind.validateSpec(plain);
    for (const path of unset) {
      if (violations.some((v) => v.path === `spec.${path}`)) problems.add(`spec.${path}`, 'redacted', `"${REDACTED}" keeps a stored secret, but none is stored`);
    }
    problems.throwIfAny();
    if (violations.length > 0) {
      throw new InputError(violations.map((d) => `${d.path}: ${d.message ?? d.rule}`).join('; '), {
        status: 422,
        details: violations.map(({ path, rule }) => ({ path, rule })),
      });
    }
    // `plain` is this call's own copy: a kind without secret fields stores it as it is.
    const stored = kind.definition.secretFields.length === 0 ? plain : cloneJson(plain);
    // Keyed by secret paths: no prototype, so no path can reach one (paths are also checked when the kind is registered).
    const sealed: Record<string, SealedSecret> = Object.create(null) as Record<string, SealedSecret>;
    let secretsChanged = false;
    const previousSealed = (existing?.secrets ?? {}) as Record<string, SealedSecret>;
    for (const path of kind.definition.secretFields) {
      const value = getPath(plain, path);
      if (value === undefined) {
        if (Object.hasOwn(previous, path)) secretsChanged = true;
        continue;
      }
      setPath(stored, path, REDACTED);
      const kept = Object.hasOwn(previousSealed, path) ? previousSealed[path] : undefined;
      if (kept && Object.hasOwn(previous, path) && jsonEqual(previous[path], value)) sealed[path] = kept;
      else {
        sealed[path] = secrets.seal(value, secretContext(uid, path));
        secretsChanged = true;
      }
    }
    return { stored, sealed, secretsChanged };
  }

  return { openSecrets, plaintextSpec, prepareSpec };
}
