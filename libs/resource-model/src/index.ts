export * from './errors.js';
export * from './resource.js';
export * from './subjects.js';
export * from './kind-definition.js';
