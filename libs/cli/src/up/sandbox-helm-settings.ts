/** The `@tugboat/helm` settings a controller needs to fetch charts from the sandbox, not the internet. */
export interface SandboxHelmSettings {
  TUGBOAT_HELM_MIRRORS: string;
  TUGBOAT_HELM_PLAIN_HTTP_HOSTS: string;
}

/**
 * Asks the sandbox at `sandboxUrl` which mirror settings send the real chart repositories (Envoy
 * Gateway, cert-manager, podinfo) to it. The sandbox computes them, so the list of stand-in
 * charts lives in one place; `tug up` only passes them on.
 */
export async function readSandboxHelmSettings(options: { sandboxUrl: string; fetch?: typeof fetch; signal?: AbortSignal }): Promise<SandboxHelmSettings> {
  const url = `${options.sandboxUrl}/_sandbox/helm-settings`;
  const response = await (options.fetch ?? globalThis.fetch)(url, options.signal ? { signal: options.signal } : {});
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const settings = body as Partial<Record<keyof SandboxHelmSettings, unknown>> | undefined;
  if (!response.ok || typeof settings?.TUGBOAT_HELM_MIRRORS !== 'string' || typeof settings.TUGBOAT_HELM_PLAIN_HTTP_HOSTS !== 'string') {
    throw new Error(
      `the sandbox did not tell its chart mirrors (GET ${url}: ${response.status} ${text.slice(0, 200)}); ` +
        'is services/sandbox built from this checkout? (`pnpm build`)',
    );
  }
  return { TUGBOAT_HELM_MIRRORS: settings.TUGBOAT_HELM_MIRRORS, TUGBOAT_HELM_PLAIN_HTTP_HOSTS: settings.TUGBOAT_HELM_PLAIN_HTTP_HOSTS };
}
