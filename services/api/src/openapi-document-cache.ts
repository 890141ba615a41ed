/**
 * `/openapi.json` needs no token, and building the document (every route of every kind, with its
 * schemas) and serialising it cost far more than answering: an anonymous client could make the API
 * do it in a loop. The serialised document is kept and built again only when the kinds change:
 * the registry hands out the same definition objects until a kind is added or replaced, so
 * comparing them by identity is exact and costs nothing.
 */
import type { KindDefinition } from '@tugboat/resource-model';
import type { KindRegistry } from './kind-registry.js';
import { buildOpenApiDocument } from './openapi-document.js';

export interface OpenApiDocumentCache {
  /** The document as JSON text, built for the kinds the registry lists now. */
  json(): Promise<string>;
  /** Times the document was built (for tests). */
  readonly builds: number;
}

export function createOpenApiDocumentCache(kinds: Pick<KindRegistry, 'list'>): OpenApiDocumentCache {
  let builtFor: readonly KindDefinition[] = [];
  let text: string | undefined;
  let builds = 0;
  return {
    async json() {
      const current = await kinds.list();
      const unchanged = text !== undefined && current.length === builtFor.length && current.every((definition, i) => definition === builtFor[i]);
      if (!unchanged) {
        text = JSON.stringify(buildOpenApiDocument(current));
        builtFor = current;
        builds++;
      }
      return text!;
    },
    get builds() {
      return builds;
    },
  };
}
