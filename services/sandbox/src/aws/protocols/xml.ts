import { XMLBuilder, XMLParser } from 'fast-xml-parser';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

/** Serialises `{ Root: { '@_xmlns': …, Child: 'text', List: { member: [...] } } }`; arrays repeat their element. */
export function toXml(document: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(document) as string}`;
}

export function fromXml(text: string): Record<string, unknown> {
  return parser.parse(text) as Record<string, unknown>;
}
