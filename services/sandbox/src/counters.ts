/** What the sandbox has created and deleted, per resource type (`eks:cluster`, `kube:local:apps/v1/Deployment` …). */
export interface SandboxCounters {
  created(type: string): void;
  deleted(type: string): void;
  snapshot(): { created: Record<string, number>; deleted: Record<string, number> };
  /** Puts back what `snapshot` returned (a restarted sandbox keeps its counts). */
  restore(snapshot: { created: Record<string, number>; deleted: Record<string, number> }): void;
  reset(): void;
}

export function createSandboxCounters(): SandboxCounters {
  let created = new Map<string, number>();
  let deleted = new Map<string, number>();
  return {
    created: (type) => void created.set(type, (created.get(type) ?? 0) + 1),
    deleted: (type) => void deleted.set(type, (deleted.get(type) ?? 0) + 1),
    snapshot: () => ({ created: Object.fromEntries(created), deleted: Object.fromEntries(deleted) }),
    restore(snapshot) {
      created = new Map(Object.entries(snapshot.created));
      deleted = new Map(Object.entries(snapshot.deleted));
    },
    reset() {
      created = new Map();
      deleted = new Map();
    },
  };
}
