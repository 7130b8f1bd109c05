/**
 * Thin grpc-js adapter for envoy.service.ext_proc.v3.ExternalProcessor/Process:
 * one ExtProcStream per call, one response written per message.
 */
import type * as grpc from '@grpc/grpc-js';
import { strictServiceDefinition, type DecodeResult } from '../server/strict-decode.js';
import type { ProcessingRequestObject } from './input.js';
import { immediateResponse } from './response.js';
import { ExtProcStream, type StreamDeps } from './stream.js';

export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

/** Header bytes stay Buffers; Struct metadata as plain JSON. */
const EXT_PROC_DECODE = { bytes: 'buffer', goFloats: false } as const;

/** The service definition with Process's messages decoded strictly. */
export function extProcServiceDefinition(): grpc.ServiceDefinition {
  return strictServiceDefinition(EXT_PROC_SERVICE, 'Process', EXT_PROC_DECODE);
}

/** Handlers bound to the scripts and config. */
export function extProcHandlers(deps: StreamDeps): grpc.UntypedServiceImplementation {
  return {
    Process(call: grpc.ServerDuplexStream<DecodeResult<ProcessingRequestObject>, unknown>): void {
      const stream = new ExtProcStream(deps);
      call.on('data', (decoded: DecodeResult<ProcessingRequestObject>) => {
        let response;
        try {
          response = decoded.ok ? stream.onMessage(decoded.value) : stream.onMalformed(decoded.invalidUtf8 ? 'request_invalid_utf8' : 'request_malformed');
        } catch (err) {
          // A bug of ours: answer this request, keep the process and other streams.
          deps.logger.error('ext_proc internal error', { error: (err as Error).stack ?? String(err) });
          response = immediateResponse(500, [], Buffer.from('iacdash: internal error\n'), 'internal');
        }
        call.write(response);
      });
      call.on('end', () => {
        stream.close();
        call.end();
      });
      // The peer went away; nothing left to answer.
      call.on('error', () => stream.close());
      call.on('cancelled', () => stream.close());
    },
  };
}
