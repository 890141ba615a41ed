export * from './account.js';
export * from './aws-errors.js';
export * from './eks-token.js';
export * from './eks-access.js';
export * from './managed-secrets.js';
export * from './aws-calls.js';
export * from './cluster-access.js';
