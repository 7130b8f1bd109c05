/**
 * Drives one HTTP request/response through a VM in the order Envoy's wasm
 * filter does (observed with Envoy 1.39 and the probe filter):
 *
 *   on_context_create → on_request_headers → on_request_body* (each chunk with
 *   end_of_stream=false, then an empty end_of_stream=true call, as Envoy's
 *   HTTP/1 codec delivers them) | on_request_trailers → upstream →
 *   on_response_headers → on_response_body* | on_response_trailers →
 *   on_log → on_done → on_delete
 *
 * A local reply skips the upstream and runs the response callbacks on the
 * reply (headers, then its whole body with end_of_stream=true). A trap
 * follows Envoy's CHECK_FAIL: fail_open continues without the filter,
 * anything else answers 503 (details `wasm_fail_stream`) and calls the module
 * no more for this stream.
 */
import { randomUUID } from 'node:crypto';
import { HeaderMap, toHeaderList, type HeaderInput, type HeaderList } from './header-map.js';
import type { LogRecord } from './services.js';
import { HttpStream, type LocalReply } from './stream-state.js';
import type { StreamMeta, StreamState, Vm, VmFailure } from './vm.js';

/** A client request. Headers are lowercased; `host` becomes `:authority`. */
export interface HttpRequestInput {
  method?: string;
  /** Path with query; defaults to `/`. */
  path?: string;
  /** Defaults to the `host` header, else `localhost`. */
  authority?: string;
  scheme?: string;
  headers?: HeaderInput;
  body?: string | Uint8Array;
  /** The body as the codec would deliver it, in several reads; overrides `body`. */
  bodyChunks?: Array<string | Uint8Array>;
  trailers?: HeaderInput;
}

/** The request as the upstream receives it after the filter. */
export interface UpstreamRequest {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  /** Regular headers in order (pseudo-headers are in the fields above). */
  headers: HeaderList;
  body: Buffer;
  trailers: HeaderList | undefined;
}

/** What the upstream answers. */
export interface UpstreamResponse {
  status: number;
  headers?: HeaderInput;
  body?: string | Uint8Array;
  trailers?: HeaderInput;
}

/** The upstream cluster the route sends requests to. */
export type Upstream = (request: UpstreamRequest) => UpstreamResponse | Promise<UpstreamResponse>;

/** The response the client receives. */
export interface ClientResponse {
  status: number;
  /** Without `:status`. */
  headers: HeaderList;
  body: Buffer;
  trailers: HeaderList | undefined;
}

/** Everything one exchange did. */
export interface Exchange {
  /** What the client got; undefined when the stream was reset or stalled. */
  response: ClientResponse | undefined;
  /** Who produced the response. */
  source: 'upstream' | 'local' | 'failure' | undefined;
  /** The filter's proxy_send_local_response, or the 503 for a failed VM. */
  localReply: LocalReply | undefined;
  /** What reached the upstream; undefined when the request never got there. */
  upstreamRequest: UpstreamRequest | undefined;
  /** Module callbacks in call order. */
  callbacks: string[];
  /** Lines logged during this exchange. */
  logs: LogRecord[];
  /** The trap that failed the VM during this exchange. */
  failure: VmFailure | undefined;
  /** Why the stream was reset (proxy_close_stream, or a failure after the response started). */
  reset: string | undefined;
  /** The phase a paused stream never resumed from (Envoy would wait for its timeout). */
  stalled: 'request' | 'response' | undefined;
  /** False when the filter was bypassed (a failed VM under fail open). */
  filtered: boolean;
}

/** How a host wants an exchange run. */
export interface ExchangeOptions {
  /** Emulate Envoy's connection manager: add `x-forwarded-proto` and `x-request-id` before the filter runs. */
  envoyHeaders: boolean;
  /** Legacy `fail_open`: a trapping stream continues without the filter. */
  failOpen: boolean;
  meta: StreamMeta;
  /** Runs pending async deliveries until `done()` holds; false when none are left. */
  pump: (done: () => boolean) => Promise<boolean>;
  logs: LogRecord[];
  /** Skip the filter entirely (a failed VM under FAIL_OPEN). */
  bypass: boolean;
  /** An earlier filter in the chain answered: this one sees only context creation and the log callbacks. */
  answeredBefore: UpstreamResponse | undefined;
}

const EMPTY: Buffer = Buffer.alloc(0);

/** Builds the headers the filter sees, as Envoy's HTTP/1 codec and connection manager produce them. */
export function requestHeaderList(request: HttpRequestInput, envoyHeaders: boolean): HeaderList {
  const given = toHeaderList(request.headers);
  const authority = request.authority ?? given.find(([k]) => k === 'host')?.[1] ?? 'localhost';
  const scheme = request.scheme ?? 'http';
  const out: HeaderList = [
    [':authority', authority],
    [':path', request.path ?? '/'],
    [':method', (request.method ?? 'GET').toUpperCase()],
    [':scheme', scheme],
    ...given.filter(([k]) => k !== 'host'),
  ];
  if (envoyHeaders) {
    if (!out.some(([k]) => k === 'x-forwarded-proto')) out.push(['x-forwarded-proto', scheme]);
    if (!out.some(([k]) => k === 'x-request-id')) out.push(['x-request-id', randomUUID()]);
  }
  return out;
}

function bytesOf(value: string | Uint8Array | undefined): Buffer {
  return value === undefined ? EMPTY : Buffer.from(value);
}

type Step = 'continue' | 'stop' | 'bypass';

/** Runs one exchange on a VM that is up (or failed, then per its failure policy). */
export class ExchangeRunner {
  private readonly callbacks: string[] = [];
  private bypass = false;
  private failure: VmFailure | undefined;
  private readonly context: StreamState;
  private readonly stream: HttpStream;
  private readonly logStart: number;
  private readonly failureAtStart: VmFailure | undefined;

  constructor(
    private readonly vm: Vm,
    private readonly rootId: number,
    private readonly request: HttpRequestInput,
    private readonly upstream: Upstream,
    private readonly options: ExchangeOptions,
  ) {
    this.logStart = options.logs.length;
    this.failureAtStart = vm.failure;
    this.bypass = options.bypass;
    const id = vm.allocContextId();
    this.stream = new HttpStream(id, requestHeaderList(request, options.envoyHeaders), vm.services.clock());
    this.context = { kind: 'stream', id, parentId: rootId, stream: this.stream, meta: options.meta };
  }

  /** Calls a stream callback under Envoy's CHECK_FAIL rules; 'continue' when the module let the stream go on. */
  private callStream(name: string, args: number[]): Step {
    const before = this.checkFail();
    if (before) return before;
    // Envoy continues past a callback the module does not export, without looking at an earlier call's stop.
    if (!this.vm.has(name)) return 'continue';
    this.callbacks.push(name);
    const replyBefore = this.stream.localReply;
    const result = this.vm.call(name, this.context, [this.context.id, ...args]);
    const after = this.checkFail();
    if (after) return after;
    if (this.stream.localReply !== replyBefore || this.stream.reset) return 'stop';
    if (this.vm.lastCallStopped) return 'stop';
    // Headers: 0 continues, 2 is ContinueAndEndStream; anything else stops. Bodies: 0 continues.
    return result === undefined || result === 0 || (name.endsWith('_headers') && result === 2) ? 'continue' : 'stop';
  }

  private checkFail(): Step | undefined {
    if (this.bypass) return 'bypass';
    if (!this.vm.failure) return undefined;
    if (this.vm.failure !== this.failureAtStart) this.failure ??= this.vm.failure;
    if (this.options.failOpen) {
      this.bypass = true;
      return 'bypass';
    }
    if (!this.stream.failureReplySent) {
      this.stream.failureReplySent = true;
      this.stream.localReply = { status: 503, body: new Uint8Array(0), headers: [], details: 'wasm_fail_stream', grpcStatus: 14 };
    }
    return 'stop';
  }

  /** Delivers a body (then end of stream) to the filter; returns what passes on, or undefined when the filter stopped the stream. */
  private async deliverBody(direction: 'request' | 'response', chunks: Buffer[], trailers: boolean, splitEnd: boolean): Promise<Buffer | undefined> {
    const name = direction === 'request' ? 'proxy_on_request_body' : 'proxy_on_response_body';
    const reads: Array<[Buffer, boolean]> = chunks.map((c, i) => [c, !splitEnd && !trailers && i === chunks.length - 1]);
    if (splitEnd && !trailers) reads.push([EMPTY, true]);
    const forwarded: Buffer[] = [];
    let buffered: Buffer = EMPTY;
    for (const [chunk, eos] of reads) {
      buffered = Buffer.concat([buffered, chunk]);
      this.stream.body = { direction, data: buffered };
      this.stream.endOfStream = eos;
      const step = this.callStream(name, [buffered.length, eos ? 1 : 0]);
      buffered = this.stream.body?.data ?? buffered;
      this.stream.body = undefined;
      if (step === 'bypass' || step === 'continue') {
        forwarded.push(buffered);
        buffered = EMPTY;
        if (step === 'bypass') this.bypass = true;
        continue;
      }
      if (this.stream.localReply || this.stream.reset || this.vm.failure) return undefined;
      if (!eos) continue; // Envoy StopIterationAndBuffer: keep accumulating
      const resumed = await this.waitForContinue(direction);
      if (!resumed) return undefined;
      forwarded.push(buffered);
      buffered = EMPTY;
    }
    return Buffer.concat(forwarded);
  }

  private async waitForContinue(direction: 'request' | 'response'): Promise<boolean> {
    const flag = () => (direction === 'request' ? this.stream.continueRequest : this.stream.continueResponse);
    const settled = () => flag() || !!this.stream.localReply || !!this.stream.reset || !!this.vm.failure;
    await this.options.pump(settled);
    if (this.vm.failure) this.checkFail();
    if (flag() && !this.stream.localReply && !this.stream.reset) {
      if (direction === 'request') this.stream.continueRequest = false;
      else this.stream.continueResponse = false;
      return true;
    }
    return false;
  }

  private result(partial: Partial<Exchange>): Exchange {
    return {
      response: undefined,
      source: undefined,
      localReply: this.stream.localReply,
      upstreamRequest: undefined,
      callbacks: this.callbacks,
      logs: this.options.logs.slice(this.logStart),
      failure: this.failure,
      reset: this.stream.reset,
      stalled: undefined,
      filtered: !this.bypass,
      ...partial,
    };
  }

  /** Runs the exchange. */
  async run(): Promise<Exchange> {
    const { vm, stream, context } = this;
    if (this.bypass) {
      // FAIL_OPEN with a failed VM: Envoy adds no filter to the chain.
    } else if (vm.failure) {
      this.checkFail(); // FAIL_CLOSED: Envoy creates no VM context and answers 503 at the first callback
    } else {
      vm.contexts.set(context.id, context);
      if (vm.has('proxy_on_context_create')) this.callbacks.push('proxy_on_context_create');
      vm.call('proxy_on_context_create', undefined, [context.id, this.rootId]);
    }

    const earlier = this.options.answeredBefore;
    if (earlier) {
      // Envoy never calls this filter's decode (nor, without a VM context, its encode) callbacks;
      // its access log still runs, creating the context first.
      const headers: HeaderList = [[':status', String(earlier.status)], ...toHeaderList(earlier.headers)];
      const body = bytesOf(earlier.body);
      stream.responseHeaders = new HeaderMap(headers);
      stream.responseCode = earlier.status;
      stream.responseCodeDetails = 'local_reply';
      const response: ClientResponse = { status: earlier.status, headers: headers.slice(1), body, trailers: undefined };
      return this.finish(this.result({ response, source: 'local' }));
    }

    const chunks = (this.request.bodyChunks ?? (this.request.body === undefined ? [] : [this.request.body]))
      .map(bytesOf)
      .filter((c) => c.length > 0);
    const trailers = this.request.trailers === undefined ? undefined : toHeaderList(this.request.trailers);
    const requestEnds = chunks.length === 0 && trailers === undefined;

    // Request headers.
    stream.requestHeadersOpen = true;
    stream.endOfStream = requestEnds;
    const step = this.callStream('proxy_on_request_headers', [stream.requestHeaders.size, requestEnds ? 1 : 0]);
    if (step === 'stop' && !stream.localReply && !stream.reset && !vm.failure) {
      // Paused (Envoy: StopAllIterationAndWatermark) until proxy_continue_stream, a local reply or a failure.
      const resumed = await this.waitForContinue('request');
      if (!resumed && !stream.localReply && !stream.reset) return this.finish(this.result({ stalled: 'request' }));
    }
    stream.requestHeadersOpen = false;
    if (stream.localReply || stream.reset) return this.replyLocally();

    // Request body and trailers.
    let body: Buffer | undefined = EMPTY;
    if (chunks.length > 0) {
      body = this.bypass ? Buffer.concat(chunks) : await this.deliverBody('request', chunks, trailers !== undefined, true);
      if (body === undefined) {
        if (stream.localReply || stream.reset) return this.replyLocally();
        return this.finish(this.result({ stalled: 'request' }));
      }
    }
    stream.requestBytes = body.length;
    if (trailers !== undefined) {
      stream.requestTrailers = new HeaderMap(trailers);
      stream.requestTrailersOpen = true;
      const t = this.callStream('proxy_on_request_trailers', [stream.requestTrailers.size]);
      stream.requestTrailersOpen = false;
      if (t === 'stop') {
        if (stream.localReply || stream.reset) return this.replyLocally();
        if (!(await this.waitForContinue('request'))) {
          if (stream.localReply || stream.reset) return this.replyLocally();
          return this.finish(this.result({ stalled: 'request' }));
        }
      }
    }

    // Upstream.
    const pairs = stream.requestHeaders.pairs();
    const pseudo = (name: string) => pairs.find(([k]) => k === name)?.[1] ?? '';
    const upstreamRequest: UpstreamRequest = {
      method: pseudo(':method'),
      path: pseudo(':path'),
      authority: pseudo(':authority'),
      scheme: pseudo(':scheme'),
      headers: pairs.filter(([k]) => !k.startsWith(':')),
      body,
      trailers: stream.requestTrailers?.pairs(),
    };
    const answer = await this.upstream(upstreamRequest);
    return this.respond(answer, upstreamRequest);
  }

  /** Runs the response callbacks on an upstream response. */
  private async respond(answer: UpstreamResponse, upstreamRequest: UpstreamRequest): Promise<Exchange> {
    const { stream } = this;
    const headers: HeaderList = [[':status', String(answer.status)], ...toHeaderList(answer.headers)];
    // A response to HEAD has no body on the wire, whatever the upstream function returned.
    const body = upstreamRequest.method === 'HEAD' ? EMPTY : bytesOf(answer.body);
    const trailers = answer.trailers === undefined ? undefined : toHeaderList(answer.trailers);
    const response = await this.encode(headers, body, trailers, true, answer.status, undefined);
    if (!response) return this.finish(this.result({ upstreamRequest, stalled: stream.reset ? undefined : 'response' }));
    return this.finish(this.result({ upstreamRequest, response: response.response, source: response.source }));
  }

  /** Answers with the local reply (the filter's, or the 503 of a failed VM) and runs the response callbacks on it. */
  private async replyLocally(): Promise<Exchange> {
    const { stream } = this;
    const reply = stream.localReply;
    if (!reply) return this.finish(this.result({}));
    const headers: HeaderList = [[':status', String(reply.status)], ...reply.headers.map(([k, v]) => [k.toLowerCase(), v] as [string, string])];
    if (reply.body.length > 0 && !headers.some(([k]) => k === 'content-type')) headers.push(['content-type', 'text/plain']);
    if (!headers.some(([k]) => k === 'content-length')) headers.push(['content-length', String(reply.body.length)]);
    const source = stream.failureReplySent ? 'failure' : 'local';
    const response = await this.encode(headers, Buffer.from(reply.body), undefined, false, reply.status, reply.details);
    if (!response) return this.finish(this.result({}));
    return this.finish(this.result({ response: response.response, source: response.source === 'failure' ? 'failure' : source }));
  }

  private async encode(
    headerList: HeaderList,
    body: Buffer,
    trailerList: HeaderList | undefined,
    fromUpstream: boolean,
    status: number,
    details: string | undefined,
  ): Promise<{ response: ClientResponse; source: Exchange['source'] } | undefined> {
    const { stream } = this;
    stream.responseHeaders = new HeaderMap(headerList);
    stream.responseCode = status;
    stream.responseCodeDetails = details ?? 'via_upstream';
    const hadLocal = stream.localReply;
    const skip = stream.failureReplySent; // Envoy calls the module no more after its failure reply
    const ends = body.length === 0 && trailerList === undefined;
    let passBody: Buffer | undefined = body;
    if (!skip) {
      stream.responseHeadersOpen = true;
      stream.endOfStream = ends;
      let step = this.callStream('proxy_on_response_headers', [stream.responseHeaders.size, ends ? 1 : 0]);
      if (step === 'stop' && !stream.reset && !this.vm.failure && stream.localReply === hadLocal) {
        step = (await this.waitForContinue('response')) ? 'continue' : 'stop';
      }
      stream.responseHeadersOpen = false;
      if (stream.localReply !== hadLocal) {
        // The filter (or Envoy's failure handling) replaced the response before its headers left.
        stream.responseHeaders = undefined;
        return this.replaceResponse();
      }
      if (stream.reset) return undefined;
      if (step === 'stop') return undefined;
      if (body.length > 0 && !stream.failureReplySent) {
        passBody = this.bypass ? body : await this.deliverBody('response', [body], trailerList !== undefined, fromUpstream);
        if (passBody === undefined) {
          // Headers already left: Envoy can only reset the stream.
          stream.reset ??= this.vm.failure ? 'wasm_fail_stream' : undefined;
          return undefined;
        }
      }
      if (trailerList !== undefined && !this.bypass) {
        stream.responseTrailers = new HeaderMap(trailerList);
        stream.responseTrailersOpen = true;
        this.callStream('proxy_on_response_trailers', [stream.responseTrailers.size]);
        stream.responseTrailersOpen = false;
      }
    }
    stream.responseBytes = passBody.length;
    const finalHeaders = (stream.responseHeaders ?? new HeaderMap(headerList)).pairs();
    const statusHeader = Number(finalHeaders.find(([k]) => k === ':status')?.[1] ?? status);
    return {
      response: {
        status: statusHeader,
        headers: finalHeaders.filter(([k]) => k !== ':status'),
        body: passBody,
        trailers: stream.responseTrailers?.pairs() ?? trailerList,
      },
      source: fromUpstream ? 'upstream' : 'local',
    };
  }

  private replaceResponse(): { response: ClientResponse; source: Exchange['source'] } | undefined {
    const reply = this.stream.localReply;
    if (!reply) return undefined;
    const headers: HeaderList = [...reply.headers.map(([k, v]) => [k.toLowerCase(), v] as [string, string])];
    if (reply.body.length > 0 && !headers.some(([k]) => k === 'content-type')) headers.push(['content-type', 'text/plain']);
    headers.push(['content-length', String(reply.body.length)]);
    this.stream.responseCode = reply.status;
    this.stream.responseCodeDetails = reply.details;
    this.stream.responseBytes = reply.body.length;
    return {
      response: { status: reply.status, headers, body: Buffer.from(reply.body), trailers: undefined },
      source: this.stream.failureReplySent ? 'failure' : 'local',
    };
  }

  /** on_log, on_done, on_delete (skipped on a failed VM, as in Envoy), then the result. */
  private finish(exchange: Exchange): Exchange {
    const { vm, stream, context } = this;
    stream.endNs = vm.services.clock();
    if (!vm.failure && !this.bypass && vm.contexts.has(context.id)) {
      stream.accessLogPhase = true;
      if (vm.has('proxy_on_log')) this.callbacks.push('proxy_on_log');
      vm.call('proxy_on_log', context, [context.id]);
      stream.accessLogPhase = false;
      if (!vm.failure) {
        if (vm.has('proxy_on_done')) this.callbacks.push('proxy_on_done');
        vm.call('proxy_on_done', context, [context.id]);
      }
      if (!vm.failure) {
        if (vm.has('proxy_on_delete')) this.callbacks.push('proxy_on_delete');
        vm.call('proxy_on_delete', context, [context.id]);
      }
    }
    vm.contexts.delete(context.id);
    if (vm.failure !== this.failureAtStart) this.failure ??= vm.failure;
    return { ...exchange, failure: this.failure, logs: this.options.logs.slice(this.logStart), callbacks: this.callbacks, filtered: !this.bypass };
  }
}
