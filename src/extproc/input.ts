/**
 * ext_proc ProcessingRequest → the phase a transform sees. The request
 * arrives decoded by protomap with bytes as Buffers (header `raw_value`,
 * bodies) and metadata Structs as plain JSON. Pure.
 */
import { headerListOf, type HeaderMapObject, type RawHeaderList } from './headers.js';

/** Which message of the stream this is. */
export type MessageKind = 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers';

/** A ProcessingRequest in protomap form. */
export interface ProcessingRequestObject {
  requestHeaders?: { headers?: HeaderMapObject; endOfStream?: boolean };
  responseHeaders?: { headers?: HeaderMapObject; endOfStream?: boolean };
  requestBody?: { body?: Buffer; endOfStream?: boolean };
  responseBody?: { body?: Buffer; endOfStream?: boolean };
  requestTrailers?: { trailers?: HeaderMapObject };
  responseTrailers?: { trailers?: HeaderMapObject };
  metadataContext?: { filterMetadata?: Record<string, Record<string, unknown>> };
  attributes?: Record<string, Record<string, unknown>>;
  observabilityMode?: boolean;
}

/** A headers message. */
export interface HeadersMessage {
  kind: 'request_headers' | 'response_headers';
  headers: RawHeaderList;
  endOfStream: boolean;
}
/** A body message (a whole buffered body, or one chunk). */
export interface BodyMessage {
  kind: 'request_body' | 'response_body';
  body: Buffer;
  endOfStream: boolean;
}
/** A trailers message. */
export interface TrailersMessage {
  kind: 'request_trailers' | 'response_trailers';
  trailers: RawHeaderList;
}

/** One message, as the stream state machine consumes it. */
export type PhaseMessage = HeadersMessage | BodyMessage | TrailersMessage;

/** Narrowing helpers: the kinds are unions, so `kind ===` alone does not narrow. */
export const isHeaders = (m: PhaseMessage): m is HeadersMessage => m.kind.endsWith('headers');
export const isBody = (m: PhaseMessage): m is BodyMessage => m.kind.endsWith('body');

const EMPTY = Buffer.alloc(0);

/** Reads the oneof; undefined for a message with none set (a protocol error). */
export function phaseMessageOf(req: ProcessingRequestObject): PhaseMessage | undefined {
  if (req.requestHeaders) return { kind: 'request_headers', headers: headerListOf(req.requestHeaders.headers), endOfStream: req.requestHeaders.endOfStream ?? false };
  if (req.responseHeaders) return { kind: 'response_headers', headers: headerListOf(req.responseHeaders.headers), endOfStream: req.responseHeaders.endOfStream ?? false };
  if (req.requestBody) return { kind: 'request_body', body: req.requestBody.body ?? EMPTY, endOfStream: req.requestBody.endOfStream ?? false };
  if (req.responseBody) return { kind: 'response_body', body: req.responseBody.body ?? EMPTY, endOfStream: req.responseBody.endOfStream ?? false };
  if (req.requestTrailers) return { kind: 'request_trailers', trailers: headerListOf(req.requestTrailers.trailers) };
  if (req.responseTrailers) return { kind: 'response_trailers', trailers: headerListOf(req.responseTrailers.trailers) };
  return undefined;
}
