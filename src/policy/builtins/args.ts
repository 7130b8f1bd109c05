/**
 * Argument checks and errors shared by the host builtins. opa-wasm hands us
 * arguments already through `JSON.parse`, so sets arrive as arrays and
 * numbers as doubles.
 */

/** Error raised by a host builtin; the message starts with the builtin's name, as OPA's do. */
export class BuiltinError extends Error {
  constructor(
    readonly builtin: string,
    message: string,
  ) {
    super(`${builtin}: ${message}`);
    this.name = 'BuiltinError';
  }
}

/** OPA's name for the type of a JSON value. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value; // boolean, number, string
}

/** The "expected X, got Y" error for operand `pos` (1-based, as OPA counts). */
export function operandError(builtin: string, pos: number, expected: string, got: unknown): BuiltinError {
  return new BuiltinError(builtin, `operand ${pos}: expected ${expected}, got ${typeName(got)}`);
}

/** Operand `pos` as a string. */
export function stringArg(builtin: string, pos: number, value: unknown): string {
  if (typeof value !== 'string') throw operandError(builtin, pos, 'string', value);
  return value;
}

/** Operand `pos` as an object. */
export function objectArg(builtin: string, pos: number, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw operandError(builtin, pos, 'object', value);
  }
  return value as Record<string, unknown>;
}

/** Operand `pos` as an integer (OPA's IntOperand rejects fractions). */
export function intArg(builtin: string, pos: number, value: unknown): number {
  if (typeof value !== 'number') throw operandError(builtin, pos, 'number', value);
  if (!Number.isInteger(value)) {
    throw new BuiltinError(builtin, `operand ${pos}: expected integer number, got floating-point number`);
  }
  return value;
}

/** Message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A builtin iacdash refuses outright; it fails the evaluation even when other builtin errors would not. */
export class RefusedBuiltinError extends Error {
  constructor(
    readonly builtin: string,
    reason: string,
  ) {
    super(`${builtin} is not supported by iacdash: ${reason}`);
    this.name = 'RefusedBuiltinError';
  }
}
