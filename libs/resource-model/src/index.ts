export * from './errors.js';
export * from './resource.js';
export * from './subjects.js';
export * from './kind-definition.js';
export * from './builtin-kinds.js';
export * from './dns-label.js';
export * from './redacted.js';
export * from './label-selector.js';
