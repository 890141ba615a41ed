export { migrations, migrateToLatest } from './migrate-to-latest.js';
