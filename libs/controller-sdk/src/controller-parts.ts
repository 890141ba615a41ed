import { InputError } from '@tugboat/resource-model';
import type { AnyControllerDeclaration, ControllerDeclaration } from './define-controller.js';

/**
 * Several declarations run as one controller identity, one per owned kind (each with its own spec
 * and status types): the same `name`, distinct `owns`. The runner shares its connection,
 * consumers' work queue, lease bucket, health server and metrics between them.
 */
export type ControllerDeclarations = readonly AnyControllerDeclaration[];

/** What a runner is given: one declaration, or several that form one controller. */
export type RunnableController = AnyControllerDeclaration | ControllerDeclarations;

export interface ControllerParts {
  /** The controller identity: finalizer, durable and lease bucket prefix. */
  name: string;
  /** One declaration per owned kind, in the order given. */
  parts: readonly ControllerDeclaration[];
  /** The declaration that owns a kind. */
  byKind: ReadonlyMap<string, ControllerDeclaration>;
}

/**
 * Checks that the declarations form one controller (a non-empty list, one name, each kind owned
 * once) and indexes them by owned kind. Refusals are `InputError`s naming the field at fault.
 */
export function controllerParts(input: RunnableController): ControllerParts {
  const list = (Array.isArray(input) ? input : [input]) as readonly ControllerDeclaration[];
  const fail = (path: string, rule: string, message: string): never => {
    throw new InputError(`${path}: ${message}`, { details: [{ path, rule }] });
  };
  const first = list[0];
  if (first === undefined) return fail('declarations', 'minimum', 'must hold at least one controller declaration');
  const byKind = new Map<string, ControllerDeclaration>();
  list.forEach((declaration, index) => {
    const at = Array.isArray(input) ? `declarations[${index}]` : 'declaration';
    if (declaration === null || typeof declaration !== 'object' || typeof declaration.name !== 'string' || typeof declaration.owns !== 'string') {
      fail(at, 'type', 'must be a declaration made by defineController');
    }
    if (declaration.name !== first.name) {
      fail(`${at}.name`, 'same', `is "${declaration.name}", but declarations[0] names "${first.name}": one runner runs one controller identity`);
    }
    const owner = list.findIndex((other) => other.owns === declaration.owns);
    if (owner !== index) fail(`${at}.owns`, 'unique', `${declaration.owns} is owned by declarations[${owner}] already`);
    byKind.set(declaration.owns, declaration);
  });
  return { name: first.name, parts: Object.freeze([...list]), byKind };
}
