/**
 * Our phase outcomes → ext_proc ProcessingResponse objects (proto-loader
 * object form). One builder per answer kind, so the rules Envoy enforces
 * live in one place: values in `raw_value`, a replaced body with a correct
 * `content-length`. Pure.
 */
import { OVERWRITE_IF_EXISTS_OR_ADD, setAll, type HeaderMutationObject, type RawHeaderList } from './headers.js';

/** The direction a message belongs to. */
export type Direction = 'request' | 'response';

/** A ProcessingResponse ready for the serializer. */
export type ProcessingResponseObject = Record<string, unknown>;

const CONTINUE = 0;

/** Answer to a headers message. */
export function headersResponse(direction: Direction, mutation: HeaderMutationObject = {}, extra: ProcessingResponseObject = {}): ProcessingResponseObject {
  const common: Record<string, unknown> = { status: CONTINUE };
  if (mutation.setHeaders || mutation.removeHeaders) common['headerMutation'] = mutation;
  return { [`${direction}Headers`]: { response: common }, ...extra };
}

/**
 * Answer to a body message. A whole replaced body gets a `content-length`
 * of its length (Envoy rejects a BUFFERED replacement that leaves it
 * wrong); a streamed chunk is replaced as is; `clear` drops a chunk we hold
 * back until the body is complete.
 */
export function bodyResponse(
  direction: Direction,
  opts: { mutation?: HeaderMutationObject | undefined; body?: Buffer | undefined; wholeBody?: boolean; clear?: boolean },
  extra: ProcessingResponseObject = {},
): ProcessingResponseObject {
  const common: Record<string, unknown> = { status: CONTINUE };
  const mutation: HeaderMutationObject = { ...(opts.mutation ?? {}) };
  if (opts.body && !opts.wholeBody) {
    common['bodyMutation'] = { body: opts.body };
  } else if (opts.body) {
    common['bodyMutation'] = { body: opts.body };
    const others = (mutation.setHeaders ?? []).filter((h) => h.header.key !== 'content-length');
    mutation.setHeaders = [
      ...others,
      { header: { key: 'content-length', rawValue: Buffer.from(String(opts.body.length)) }, appendAction: OVERWRITE_IF_EXISTS_OR_ADD },
    ];
  } else if (opts.clear) {
    common['bodyMutation'] = { clearBody: true };
  }
  if (mutation.setHeaders?.length || mutation.removeHeaders?.length) common['headerMutation'] = mutation;
  return { [`${direction}Body`]: { response: common }, ...extra };
}

/** Answer to a trailers message. */
export function trailersResponse(direction: Direction, mutation: HeaderMutationObject = {}, extra: ProcessingResponseObject = {}): ProcessingResponseObject {
  return { [`${direction}Trailers`]: mutation.setHeaders || mutation.removeHeaders ? { headerMutation: mutation } : {}, ...extra };
}

/** Ends the stream with a local reply (Lua's respond(), or a failure). */
export function immediateResponse(status: number, headers: RawHeaderList, body: Buffer, details: string, extra: ProcessingResponseObject = {}): ProcessingResponseObject {
  const reply: Record<string, unknown> = { status: { code: status }, body, details };
  const mutation = setAll(headers.filter(([name]) => name !== ':status'));
  if (mutation.setHeaders) reply['headers'] = mutation;
  return { immediateResponse: reply, ...extra };
}
