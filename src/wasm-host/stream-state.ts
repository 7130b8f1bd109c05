/**
 * The host's view of one HTTP stream: the header maps, the body buffer the
 * current callback may touch, and what the filter asked for (local reply,
 * continue, reset). Which maps a callback may read or write follows Envoy's
 * Context: a map is writable only in its own callback (or while that phase is
 * paused) and read-only in onLog.
 */
import { HeaderMap, type HeaderList } from './header-map.js';

/** A response the filter sent with proxy_send_local_response, or Envoy's own 503 for a failed VM. */
export interface LocalReply {
  status: number;
  body: Uint8Array;
  /** Headers the filter passed (Envoy adds them with addCopy). */
  headers: HeaderList;
  /** Response code details (Envoy: spaces become underscores). */
  details: string;
  /** gRPC status, or undefined when the module passed -1 (not a gRPC reply). */
  grpcStatus: number | undefined;
}

/** Which body the current body callback exposes. */
export interface BodyWindow {
  direction: 'request' | 'response';
  /** The bytes the filter sees: this chunk, or everything buffered while it paused. */
  data: Buffer;
}

/** State of one HTTP stream context. */
export class HttpStream {
  readonly requestHeaders: HeaderMap;
  requestTrailers: HeaderMap | undefined;
  responseHeaders: HeaderMap | undefined;
  responseTrailers: HeaderMap | undefined;

  /** Writable while true (Envoy keeps the map pointer while the phase is not continued). */
  requestHeadersOpen = false;
  responseHeadersOpen = false;
  requestTrailersOpen = false;
  responseTrailersOpen = false;
  /** onLog: headers are readable, nothing is writable. */
  accessLogPhase = false;
  /** Set during a body callback. */
  body: BodyWindow | undefined;
  endOfStream = false;

  /** First proxy_send_local_response of the stream. */
  localReply: LocalReply | undefined;
  /** proxy_continue_stream was called for the direction. */
  continueRequest = false;
  continueResponse = false;
  /** proxy_close_stream, or a failure after the response started: the client sees a reset. */
  reset: string | undefined;
  /** Envoy sent its 503 for a failed VM; no more callbacks for this stream. */
  failureReplySent = false;
  /** proxy_set_property values (Envoy filter state `wasm.<path>`). */
  readonly filterState = new Map<string, Uint8Array>();

  requestBytes = 0;
  responseBytes = 0;
  responseCode: number | undefined;
  responseCodeDetails: string | undefined;
  endNs: bigint | undefined;

  constructor(
    readonly contextId: number,
    requestHeaders: HeaderList,
    readonly startNs: bigint,
  ) {
    this.requestHeaders = new HeaderMap(requestHeaders);
  }
}
