/**
 * backdrop's write-app routes (Werkzeug matching on the decoded path, no trailing slash
 * redirects), plus our GET on the data route so people and tests can read what was stored.
 */
export type Route =
  | { kind: 'data'; dataGroup: string; dataType: string; allowed: readonly string[] }
  | { kind: 'status'; allowed: readonly string[] }
  | { kind: 'unknown' };

const DATA_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'] as const;
const STATUS_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;

export function routeOf(pathname: string): Route {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return { kind: 'unknown' };
  }
  if (path === '/_status') return { kind: 'status', allowed: STATUS_METHODS };
  const parts = path.split('/');
  const [empty, data, dataGroup, dataType] = parts;
  if (parts.length === 4 && empty === '' && data === 'data' && dataGroup && dataType) {
    return { kind: 'data', dataGroup, dataType, allowed: DATA_METHODS };
  }
  return { kind: 'unknown' };
}

export function isWrite(method: string, route: Route): boolean {
  return route.kind === 'data' && (method === 'POST' || method === 'PUT');
}
