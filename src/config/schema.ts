/**
 * The configuration file's schema. Every object is strict: an unknown key
 * is an error, so a typo never silently falls back to a default.
 */
import { z } from 'zod';

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
