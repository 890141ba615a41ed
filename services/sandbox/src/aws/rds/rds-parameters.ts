/**
 * The engine parameters a DB parameter group of the sandbox may set: a few real ones per engine,
 * enough for a client to tune an instance and for a misspelt name to fail as it does on AWS.
 */
import { RDS_ENGINES } from './rds-engines.js';

export interface RdsParameter {
  name: string;
  description: string;
  /** `static` ones need a reboot: RDS takes them only with `ApplyMethod=pending-reboot`. */
  applyType: 'static' | 'dynamic';
  dataType: 'integer' | 'string' | 'boolean';
}

const POSTGRES_PARAMETERS: readonly RdsParameter[] = [
  { name: 'log_min_duration_statement', description: 'Sets the minimum execution time above which statements will be logged.', applyType: 'dynamic', dataType: 'integer' },
  { name: 'maintenance_work_mem', description: 'Sets the maximum memory to be used for maintenance operations.', applyType: 'dynamic', dataType: 'integer' },
  { name: 'max_connections', description: 'Sets the maximum number of concurrent connections.', applyType: 'static', dataType: 'integer' },
  { name: 'random_page_cost', description: "Sets the planner's estimate of the cost of a nonsequentially fetched disk page.", applyType: 'dynamic', dataType: 'string' },
  { name: 'shared_buffers', description: 'Sets the number of shared memory buffers used by the server.', applyType: 'static', dataType: 'integer' },
  { name: 'statement_timeout', description: 'Sets the maximum allowed duration of any statement.', applyType: 'dynamic', dataType: 'integer' },
  { name: 'work_mem', description: 'Sets the maximum memory to be used for query workspaces.', applyType: 'dynamic', dataType: 'integer' },
];

const MYSQL_PARAMETERS: readonly RdsParameter[] = [
  { name: 'innodb_lock_wait_timeout', description: 'Timeout in seconds an innodb transaction may wait for a row lock before giving up.', applyType: 'dynamic', dataType: 'integer' },
  { name: 'long_query_time', description: 'Defines what MySQL considers long queries.', applyType: 'dynamic', dataType: 'string' },
  { name: 'max_allowed_packet', description: 'This value by default is small, to catch large (possibly incorrect) packets.', applyType: 'dynamic', dataType: 'integer' },
  { name: 'max_connections', description: 'The number of simultaneous client connections allowed.', applyType: 'dynamic', dataType: 'integer' },
  { name: 'slow_query_log', description: 'Enable or disable the slow query log.', applyType: 'dynamic', dataType: 'boolean' },
];

/** Every parameter group family the sandbox's engines and versions have (`postgres16`, `mysql8.0` …), with its parameters. */
export const RDS_PARAMETER_FAMILIES: ReadonlyMap<string, { engine: string; parameters: readonly RdsParameter[] }> = new Map(
  Object.values(RDS_ENGINES).flatMap((engine) =>
    engine.versions.map((version) => [engine.parameterGroupFamily(version), { engine: engine.engine, parameters: engine.engine === 'postgres' ? POSTGRES_PARAMETERS : MYSQL_PARAMETERS }] as const),
  ),
);
