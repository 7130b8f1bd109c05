import { request as httpRequest, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** One HTTP/1.1 request to 127.0.0.1. */
export interface RequestOptions {
  /** Defaults to GET. */
  method?: string;
  /** Path with query, defaults to `/`. */
  path?: string;
  /** Array values are sent as repeated headers. */
  headers?: OutgoingHttpHeaders;
  /** Sent with an exact `content-length` (never chunked) unless the caller sets one. */
  body?: string | Buffer;
  /** Safety net so a hung Envoy fails the test instead of the file timeout; default 15 s. */
  timeoutMs?: number;
  /** Reuse connections (e.g. a keep-alive `Agent` for many requests); by default each request has its own. */
  agent?: Agent;
}

/** The response as received. */
export interface HttpResponse {
  status: number;
  /** Node's view: names lowercased, duplicates joined (except `set-cookie`, an array). */
  headers: IncomingHttpHeaders;
  /** Body decoded as UTF-8. */
  body: string;
  /** Body bytes. */
  bodyBytes: Buffer;
}

/**
 * Sends one request to `127.0.0.1:port` on a fresh connection (no agent, no
 * keep-alive) unless `options.agent` is given, so no test sees a connection
 * another request left behind by accident.
 */
export function request(port: number, options: RequestOptions = {}): Promise<HttpResponse> {
  const { method = 'GET', path = '/', body, timeoutMs = 15_000 } = options;
  const headers: OutgoingHttpHeaders = { ...options.headers };
  const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
  if (body !== undefined && !hasLength) headers['content-length'] = Buffer.byteLength(body);

  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: bytes.toString('utf8'),
            bodyBytes: bytes,
          });
        });
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`${method} 127.0.0.1:${port}${path}: no response within ${timeoutMs} ms`));
    });
    req.on('error', reject);
    req.end(body);
  });
}
