/**
 * helm's output as objects. Read as YAML 1.1, the dialect helm's own YAML library (and the API
 * server's) speaks, so `defaultMode: 0644` is 420 and `on` is true as Kubernetes would read them;
 * timestamps stay strings, as they do on their way to JSON there. Empty documents (a template that
 * rendered nothing, `# Source:` comments alone) are skipped; anything that is not an object with
 * apiVersion, kind and metadata.name is refused, naming the template it came from.
 */
import { parseAllDocuments } from 'yaml';
import { ChartError } from './chart-error.js';
import type { RenderedObject } from './chart-source.js';

export function parseRenderedManifest(text: string, chart: string): RenderedObject[] {
  const objects: RenderedObject[] = [];
  const documents = parseAllDocuments(text, {
    version: '1.1',
    merge: true,
    uniqueKeys: true,
    customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  let previousEnd = 0;
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    const source = sourceOf(text.slice(previousEnd, document.range[1]));
    previousEnd = document.range[2];
    const error = document.errors[0];
    if (error !== undefined) throw new ChartError('RenderFailed', `${chart}: ${source} is not valid YAML: ${error.message}`);
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    if (!isObject(value)) throw new ChartError('RenderFailed', `${chart}: ${source} renders a ${Array.isArray(value) ? 'list' : typeof value}, not a Kubernetes object`);
    const metadata = value.metadata;
    if (typeof value.apiVersion !== 'string' || typeof value.kind !== 'string' || !isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
      throw new ChartError('RenderFailed', `${chart}: ${source} renders an object without apiVersion, kind or metadata.name`);
    }
    objects.push(value as RenderedObject);
  }
  return objects;
}

/** The template a document came from: helm's last `# Source: chart/templates/x.yaml` comment before its content. */
function sourceOf(documentText: string): string {
  const matches = [...documentText.matchAll(/^# Source: (\S+)/gm)];
  return matches.at(-1)?.[1] ?? 'a template';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
