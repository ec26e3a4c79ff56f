// The admin API (/api/v1, docs/protocol.md) as the dashboard calls it: the same endpoints the
// `aloft` command uses, with the admin token as a bearer header. The token lives in
// sessionStorage (this tab, until it closes or the user logs out); it is never put in a URL.

const TOKEN_KEY = 'aloft.adminToken';

export class ApiError extends Error {
  // status: the HTTP status (0 when the server could not be reached); code: the API's error code.
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Calls the API. Resolves to the parsed JSON body; rejects with ApiError.
// path: "/api/v1/..." (with its query string); body: an object sent as JSON.
export async function apiCall(path, {method = 'GET', body, token = storedToken()} = {}) {
  const headers = {'Accept': 'application/json'};
  if (token) {
    headers['Authorization'] = `Bearer ${token}`;
  }
  const init = {method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    // A header value the browser refuses (a token with characters no token has) also ends here.
    if (error instanceof TypeError && /header/i.test(error.message)) {
      throw new ApiError(401, 'invalid_token', 'the token has characters no token has');
    }
    throw new ApiError(0, 'unreachable', 'the server cannot be reached');
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = json?.error ?? {};
    throw new ApiError(response.status, error.code ?? `http_${response.status}`,
                       error.message ?? `the server answered ${response.status}`);
  }
  return json;
}

// The query string of a filter object, leaving out empty values: {a: 'x', b: ''} → "?a=x".
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
