/**
 * Envoy's API protos, loaded from the tree that `@grpc/grpc-js-xds` ships in
 * its `deps/` folder (never hand-copied). proto-loader gives the grpc-js
 * service definitions; protobufjs gives the message types that our strict
 * decoder uses.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Folders that Envoy's protos import from. */
export const PROTO_INCLUDE_DIRS = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => join(XDS_DEPS, d));

export const AUTHZ_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';

/** proto-loader options: lowerCamelCase names, as protojson and OPA-Envoy's input use. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: Number,
  defaults: false,
  oneofs: false,
  includeDirs: PROTO_INCLUDE_DIRS,
};

let definitions: protoLoader.PackageDefinition | undefined;

/** grpc-js package definition for every Envoy service iacdash serves (loaded once). */
export function envoyPackageDefinition(): protoLoader.PackageDefinition {
  definitions ??= protoLoader.loadSync([AUTHZ_PROTO, EXT_PROC_PROTO], LOADER_OPTIONS);
  return definitions;
}

let root: protobuf.Root | undefined;

/** protobufjs root with the same protos, for decoding with our own reader. */
export function envoyProtoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin: string, target: string): string | null => {
      for (const dir of PROTO_INCLUDE_DIRS) {
        const candidate = join(dir, target);
        try {
          require.resolve(candidate);
          return candidate;
        } catch {
          // try the next include dir
        }
      }
      return target;
    };
    r.loadSync([AUTHZ_PROTO, EXT_PROC_PROTO], { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root;
}
