/** A small JSON client for the platform's HTTP API, used by the CLI and the demo. */

/** The API answered with an error body; the message is the server's. */
export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class ApiClient {
  /** `key`: sent as `Authorization: Bearer <key>` (the API refuses most routes without one). */
  constructor(readonly baseUrl: string, private readonly key?: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.send<T>(method, path, body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) });
  }

  /** Sends a file's bytes as the body (streamed from disk), e.g. a dataset upload. */
  async upload<T>(path: string, file: string, type: string): Promise<T> {
    const { openAsBlob } = await import('node:fs');
    return this.send<T>('POST', path, { type, data: await openAsBlob(file) });
  }

  /** Posts a multipart/form-data body (fetch writes its boundary into the content type). */
  async postForm<T>(path: string, form: FormData): Promise<T> {
    return this.send<T>('POST', path, { data: form });
  }

  private async send<T>(method: string, path: string, body?: { type?: string; data: string | Blob | FormData }): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...(body?.type === undefined ? {} : { 'content-type': body.type }), ...(this.key ? { authorization: `Bearer ${this.key}` } : {}) },
        body: body?.data,
      });
    } catch (err) {
      throw new Error(`cannot reach the API at ${this.baseUrl} (${(err as Error).message}); is \`mlops up\` running? Set MLOPS_API_URL otherwise`);
    }
    const text = await response.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // something other than the API answered (a proxy's error page, another service on the port)
      throw new ApiCallError(response.status, 'not_json', `${method} ${path} -> ${response.status}, not a JSON answer: ${text.slice(0, 200)}; is MLOPS_API_URL the platform's API?`);
    }
    if (!response.ok) {
      const e = parsed?.error ?? {};
      throw new ApiCallError(response.status, e.code ?? 'unknown', `${method} ${path} -> ${response.status} ${e.code ?? ''}: ${e.message ?? text}`);
    }
    return parsed as T;
  }

  /** GETs a file's bytes (not JSON); an error answer is read as the API's JSON error, as for other calls. */
  async download(path: string): Promise<{ bytes: Buffer; headers: Headers }> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { headers: this.key ? { authorization: `Bearer ${this.key}` } : {} });
    } catch (err) {
      throw new Error(`cannot reach the API at ${this.baseUrl} (${(err as Error).message}); is \`mlops up\` running? Set MLOPS_API_URL otherwise`);
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    if (!response.ok) {
      let e: { code?: string; message?: string } = {};
      try { e = JSON.parse(bytes.toString('utf8'))?.error ?? {}; } catch { /* not the API's error body */ }
      throw new ApiCallError(response.status, e.code ?? 'unknown', `GET ${path} -> ${response.status} ${e.code ?? ''}: ${e.message ?? bytes.toString('utf8', 0, 200)}`);
    }
    return { bytes, headers: response.headers };
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
}
