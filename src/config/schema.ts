/**
 * The configuration file's schema. Every object is strict: an unknown key
 * is an error, so a typo never silently falls back to a default.
 */
import { z } from 'zod';
import { readTlsMaterial, TlsFileError } from './tls.js';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected HOST:PORT, e.g. 0.0.0.0:9191 or :9191');

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        /** gRPC listener for ext_authz (and later ext_proc); OPA-Envoy's default port. */
        addr: hostPort.default(':9191'),
        /** HTTP listener for /health and /ready; OPA's REST port by default. */
        http_addr: hostPort.default(':8181'),
        /** Largest gRPC message accepted, in bytes. */
        max_receive_message_bytes: z.number().int().positive().default(8 * 1024 * 1024),
        /** Serve gRPC over TLS; absent means plaintext (inside an Istio mesh the sidecars' mTLS covers the hop). */
        tls: z
          .strictObject({
            /** PEM certificate chain, leaf first (cert-manager's `tls.crt`). */
            cert_file: z.string().min(1),
            /** PEM private key of the leaf (`tls.key`). */
            key_file: z.string().min(1),
            /** PEM CA bundle (`ca.crt`); when set, every client must present a certificate it signed (mTLS). */
            client_ca_file: z.string().min(1).optional(),
            /** How often to look for rotated files (cert-manager renews them in place); 0 turns reloading off. */
            poll_interval_ms: z.number().int().min(0).default(1000),
          })
          .superRefine((files, ctx) => {
            // Refused at load, naming the key, rather than at the first handshake.
            try {
              readTlsMaterial(files);
            } catch (err) {
              if (!(err instanceof TlsFileError)) throw err;
              ctx.addIssue({ code: 'custom', message: err.message, path: [err.key] });
            }
          })
          .optional(),
      })
      .prefault({}),
    bundle: z
      .strictObject({
        /** Path of a bundle built by `iacdash build` / `opa build -t wasm`. */
        path: z.string().min(1).optional(),
        /** How often to look for a changed bundle; 0 turns hot reload off. */
        poll_interval_ms: z.number().int().min(0).default(1000),
      })
      .prefault({}),
    authz: z
      .strictObject({
        /** The decision's path, as OPA-Envoy's `path` (slashes or dots). */
        path: z.string().min(1).default('envoy/authz/allow'),
        /** As OPA-Envoy's `dry-run`: deny decisions are logged but answered OK. */
        dry_run: z.boolean().default(false),
        /** What a failed evaluation or broken result answers: deny (fail-closed), allow, or a gRPC error for Envoy's failure_mode_allow to decide (OPA-Envoy's behaviour). */
        failure_mode: z.enum(['deny', 'allow', 'grpc-error']).default('deny'),
        /** HTTP status of a fail-closed denial. */
        failure_status: z.number().int().min(400).max(599).default(403),
        /** As OPA-Envoy's `skip-request-body-parse`. */
        skip_request_body_parse: z.boolean().default(false),
        /** OPA's --strict-builtin-errors. */
        strict_builtin_errors: z.boolean().default(false),
        /** Hand the policy only the parts of the input its Rego reads (found in the bundle's sources); off sends the whole document. */
        prune_input: z.boolean().default(true),
        /** Decisions remembered per pruned input, for policies that call no non-deterministic builtin; 0 turns the cache off. */
        decision_cache_size: z.number().int().min(0).default(10_000),
      })
      .prefault({}),
    limits: z
      .strictObject({
        max_header_bytes: z.number().int().positive().default(64 * 1024),
        max_body_bytes: z.number().int().positive().default(1024 * 1024),
        max_json_depth: z.number().int().min(1).max(10_000).default(128),
        policy_memory_bytes: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
      })
      .prefault({}),
    extproc: z
      .strictObject({
        /** Lua scripts and the requests each one transforms; the first matching rule wins. */
        scripts: z
          .array(
            z.strictObject({
              /** Names the script in logs, metrics and errors. */
              name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
              /** A Lua file written for Envoy's envoy.filters.http.lua. */
              file: z.string().min(1),
              /** What handle:metadata() returns: the route metadata Envoy's Lua filter would see. */
              metadata: z.record(z.string(), z.json()).default({}),
              match: z
                .strictObject({
                  /** `:authority` without the port: exact, or `*.example.com`. */
                  hosts: z.array(z.string().min(1)).optional(),
                  path_prefix: z.string().startsWith('/').optional(),
                  methods: z.array(z.string().regex(/^[A-Z]+$/, 'an upper-case HTTP method')).optional(),
                  /** ext_proc request attributes Envoy sends (`request_attributes`), e.g. `xds.route_name: api`. */
                  attributes: z.record(z.string(), z.string()).optional(),
                  /** Forwarded dynamic metadata: `{namespace: {key: value}}`. */
                  metadata: z.record(z.string(), z.record(z.string(), z.string())).optional(),
                })
                .default({}),
            }),
          )
          .default([]),
        /** What a script error, budget overrun or bad mutation answers: a local reply, or passing the message on unchanged. */
        failure_mode: z.enum(['respond', 'continue']).default('respond'),
        /** HTTP status of that local reply; its body is generic, details go to the log. */
        failure_status: z.number().int().min(400).max(599).default(500),
        /** How often to look for changed scripts; 0 turns hot reload off. */
        poll_interval_ms: z.number().int().min(0).default(1000),
        limits: z
          .strictObject({
            max_instructions: z.number().int().positive().default(5_000_000),
            max_millis: z.number().int().positive().default(150),
            max_string_bytes: z.number().int().positive().default(8 * 1024 * 1024),
            max_body_bytes: z.number().int().positive().default(1024 * 1024),
          })
          .prefault({}),
      })
      .prefault({}),
    telemetry: z
      .strictObject({
        metrics: z
          .strictObject({
            /** Serve Prometheus metrics at GET /metrics on server.http_addr. */
            enabled: z.boolean().default(true),
            /** Also export Node's process metrics (CPU, memory, event loop, GC). */
            process_metrics: z.boolean().default(true),
          })
          .prefault({}),
        tracing: z
          .strictObject({
            /** OpenTelemetry spans per Check and ext_proc stream; the SDK reads OTEL_* (exporter, endpoint, sampler, propagators). OTEL_SDK_DISABLED=true turns it back off. */
            enabled: z.boolean().default(false),
          })
          .prefault({}),
      })
      .prefault({}),
    decision_logs: z
      .strictObject({
        /** One JSON line per Check in OPA's decision-log shape; off costs nothing on the hot path. */
        enabled: z.boolean().default(false),
        /** Where the lines go: stdout, `file` with size-based rotation, or `otlp` (one OTLP log record per entry; OTEL_EXPORTER_OTLP_* say where). */
        sink: z.enum(['stdout', 'file', 'otlp']).default('stdout'),
        /** The log file when `sink: file`; rotated files are FILE.1, FILE.2, ... */
        file: z.string().min(1).optional(),
        /** Size at which the file rotates, in bytes. */
        max_file_bytes: z.number().int().positive().default(100 * 1024 * 1024),
        /** Rotated files kept besides the current one. */
        max_files: z.number().int().min(0).default(5),
        /** Entries waiting for a slow sink; past it entries are dropped and counted, never waited for. */
        queue_size: z.number().int().positive().default(10_000),
        /** The bundle's name in each entry's `bundles` (OPA's bundle name). */
        bundle_name: z.string().min(1).default('iacdash'),
        /** OPA mask rules: a JSON pointer to erase (listed in `erased`), or {op: upsert, path, value} (listed in `masked`). */
        mask: z
          .array(
            z.union([
              z.string().startsWith('/'),
              z.strictObject({ op: z.enum(['remove', 'upsert']), path: z.string().startsWith('/'), value: z.json().optional() }),
            ]),
          )
          .default([
            '/input/attributes/request/http/headers/authorization',
            '/input/attributes/request/http/headers/cookie',
            '/input/attributes/request/http/headers/x-api-key',
          ]),
      })
      .refine((d) => d.sink !== 'file' || d.file !== undefined, { message: 'required when sink is file', path: ['file'] })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        /** Header names whose values are masked in every log line. */
        mask_headers: z.array(z.string().min(1)).default(['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key']),
      })
      .prefault({}),
  })
  .prefault({});

/** A validated configuration, with every default filled in. */
export type Config = z.infer<typeof configSchema>;
