import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the upstream received for one request, exactly as Envoy forwarded it. */
export interface EchoedRequest {
  method: string;
  /** Path with the query string, e.g. `/a/b?x=1`. */
  path: string;
  /**
   * Header names lowercased. A header sent once is a string; a header sent
   * more than once is an array of every value in arrival order (Node's own
   * `req.headers` would join or drop duplicates).
   */
  headers: Record<string, string | string[]>;
  /** Header names and values in arrival order, names in the case sent. */
  rawHeaders: string[];
  /** Body decoded as UTF-8. */
  body: string;
  /** Body bytes as base64, for binary payloads. */
  bodyBase64: string;
}

/** A running echo upstream. */
export interface EchoUpstream {
  /** Port on 127.0.0.1. */
  readonly port: number;
  /** Every request received since start or the last {@link EchoUpstream.clear}, oldest first. */
  readonly requests: readonly EchoedRequest[];
  /** The most recent request, if any. */
  last(): EchoedRequest | undefined;
  /** Forgets the recorded requests. */
  clear(): void;
  /** Stops listening and drops open (keep-alive) connections. */
  close(): Promise<void>;
}

/** Request header whose JSON object value the upstream adds to its response headers (arrays become repeated headers). */
export const RESPONSE_HEADERS_HEADER = 'x-echo-response-headers';

/** Path prefix that selects the response status: `/__status/418[/...][?...]` answers 418. */
export const STATUS_PATH_PREFIX = '/__status/';

const STATUS_PATH = /^\/__status\/(\d{3})(?:[/?]|$)/;

/** Node's rawHeaders as name → value, or → every value in order when repeated. */
export function groupHeaders(raw: string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

function statusFor(path: string): number {
  const match = STATUS_PATH.exec(path);
  const code = match ? Number(match[1]) : 200;
  return code >= 200 && code <= 599 ? code : 200;
}

/**
 * Starts an HTTP/1.1 server on 127.0.0.1 (ephemeral port) that answers every
 * request with a JSON {@link EchoedRequest} of what it received, and records
 * it in `requests`. The status is 200, or N for paths under `/__status/N`
 * (200-599; 204 and 304 carry no body, as HTTP requires). A request header
 * `x-echo-response-headers: {"name": "value"}` adds response headers.
 */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: EchoedRequest[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const echoed: EchoedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: groupHeaders(req.rawHeaders),
        rawHeaders: [...req.rawHeaders],
        body: bytes.toString('utf8'),
        bodyBase64: bytes.toString('base64'),
      };
      requests.push(echoed);
      const status = statusFor(echoed.path);
      if (status === 204 || status === 304) {
        res.writeHead(status).end();
        return;
      }
      const payload = Buffer.from(JSON.stringify(echoed));
      const extra = req.headers[RESPONSE_HEADERS_HEADER];
      const asked = typeof extra === 'string' ? (JSON.parse(extra) as Record<string, string | string[]>) : {};
      res
        .writeHead(status, {
          ...asked,
          'content-type': 'application/json',
          'content-length': String(payload.length),
        })
        .end(payload);
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    port,
    requests,
    last: () => requests[requests.length - 1],
    clear: () => {
      requests.length = 0;
    },
    close: () => {
      // Envoy keeps upstream connections alive; close() alone would wait for them.
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
