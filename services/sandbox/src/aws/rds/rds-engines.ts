/**
 * The engines, versions and instance classes the RDS stand-in accepts: a few real ones of each,
 * enough for Tugboat's definitions to choose from and for a wrong choice to fail as it does on AWS.
 */

export interface RdsEngine {
  engine: 'postgres' | 'mysql';
  port: number;
  /** Full versions, oldest first. */
  versions: readonly string[];
  /** What a major version alone (`16`, `8.0`) resolves to, as RDS picks its default minor version. */
  defaults: Readonly<Record<string, string>>;
  licenseModel: string;
  parameterGroupFamily: (version: string) => string;
}

export const RDS_ENGINES: Readonly<Record<string, RdsEngine>> = {
  postgres: {
    engine: 'postgres',
    port: 5432,
    versions: ['14.15', '15.10', '16.4', '16.6', '17.2'],
    defaults: { '14': '14.15', '15': '15.10', '16': '16.6', '17': '17.2' },
    licenseModel: 'postgresql-license',
    parameterGroupFamily: (version) => `postgres${version.split('.')[0]}`,
  },
  mysql: {
    engine: 'mysql',
    port: 3306,
    versions: ['8.0.39', '8.0.40', '8.4.3'],
    defaults: { '8.0': '8.0.40', '8.4': '8.4.3' },
    licenseModel: 'general-public-license',
    parameterGroupFamily: (version) => `mysql${version.split('.').slice(0, 2).join('.')}`,
  },
};

/** Without `EngineVersion`, RDS takes the engine's default: the newest of the previous major line here. */
export const DEFAULT_ENGINE_VERSIONS: Readonly<Record<string, string>> = { postgres: '16.6', mysql: '8.0.40' };

/** Instance classes offered for both engines. */
export const RDS_INSTANCE_CLASSES: readonly string[] = [
  'db.t3.micro',
  'db.t3.small',
  'db.t3.medium',
  'db.t4g.micro',
  'db.t4g.small',
  'db.t4g.medium',
  'db.m5.large',
  'db.m6g.large',
  'db.m7g.large',
  'db.r6g.large',
];

/** Storage types and the allocated storage (GiB) each allows for these engines. */
export const RDS_STORAGE: Readonly<Record<string, { min: number; max: number }>> = {
  gp2: { min: 20, max: 65536 },
  gp3: { min: 20, max: 65536 },
  io1: { min: 100, max: 65536 },
};

export function resolveEngineVersion(engine: RdsEngine, requested: string | undefined): string | undefined {
  if (requested === undefined) return DEFAULT_ENGINE_VERSIONS[engine.engine];
  if (engine.versions.includes(requested)) return requested;
  return engine.defaults[requested];
}
