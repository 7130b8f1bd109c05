/**
 * `time.*` host builtins, following OPA's topdown/time.go (v1.22).
 * https://www.openpolicyagent.org/docs/policy-reference/builtins/time
 *
 * Timestamps come back exact (as raw JSON text). Timestamps going in have
 * already been through `JSON.parse`, so they are exact only to a double's
 * precision (about 256 ns today); the calendar functions are unaffected.
 */
import { BuiltinError, intArg, operandError, stringArg } from './args.js';
import type { NowNs } from './clock.js';
import { NAMED_LAYOUTS, parseGoTime } from './go-time.js';
import { rawJson } from './raw-json.js';
import { UTC, civil, daysIn, goDate, resolveZone, type Zone } from './time-zone.js';

type Builtin = (...args: unknown[]) => unknown;

const NS = 1_000_000_000n;
const MIN_NS = -(2n ** 63n);
const MAX_NS = 2n ** 63n - 1n;
const TWO_63 = 2 ** 63;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface ZonedTime {
  readonly unixSec: number;
  readonly nsec: bigint;
  readonly zone: Zone;
}

/** OPA's tzTime: a number of ns, or `[ns]`, `[ns, tz]` (and `[ns, tz, layout]`, whose layout we ignore). */
function zonedTime(builtin: string, pos: number, arg: unknown): ZonedTime {
  const expected = 'either number (ns) or [number (ns), string (tz)]';
  let ns: unknown = arg;
  let zone = UTC;
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw operandError(builtin, pos, expected, arg);
    ns = arg[0];
    if (typeof ns !== 'number') throw operandError(builtin, pos, 'number', ns);
    if (arg.length > 1) zone = resolveZone(builtin, stringArg(builtin, pos, arg[1]));
    if (arg.length > 2) stringArg(builtin, pos, arg[2]);
  } else if (typeof arg !== 'number') {
    throw operandError(builtin, pos, expected, arg);
  }
  const n = ns as number;
  if (!Number.isInteger(n) || n < -TWO_63 || n >= TWO_63) throw new BuiltinError(builtin, 'timestamp too big');
  const big = BigInt(n);
  let sec = big / NS;
  if (big % NS < 0n) sec -= 1n;
  return { unixSec: Number(sec), nsec: big - sec * NS, zone };
}

/** Nanoseconds as exact JSON, or OPA's range error. */
function safeNs(builtin: string, unixSec: number, nsec: bigint): ArrayBuffer {
  const ns = BigInt(unixSec) * NS + nsec;
  if (ns < MIN_NS || ns > MAX_NS) throw new BuiltinError(builtin, 'time outside of valid range');
  return rawJson(ns.toString());
}

function parse(builtin: string, layout: string, value: string): ArrayBuffer {
  let t;
  try {
    t = parseGoTime(layout, value);
  } catch (err) {
    throw new BuiltinError(builtin, (err as Error).message);
  }
  return safeNs(builtin, t.unixSec, BigInt(t.nsec));
}

function addDate(t: unknown, years: unknown, months: unknown, days: unknown): ArrayBuffer {
  const b = 'time.add_date';
  const z = zonedTime(b, 1, t);
  const [y, m, d] = [intArg(b, 2, years), intArg(b, 3, months), intArg(b, 4, days)];
  const c = civil(z.unixSec, z.zone);
  return safeNs(b, goDate(c.year + y, c.month + m, c.day + d, c.hour, c.minute, c.second, z.zone), z.nsec);
}

/** OPA's time.diff (from icza/gox): the calendar difference, both times read in the first one's zone. */
function diff(a: unknown, b: unknown): number[] {
  const first = zonedTime('time.diff', 1, a);
  const second = zonedTime('time.diff', 2, b);
  const instant = (t: ZonedTime): bigint => BigInt(t.unixSec) * NS + t.nsec;
  const [early, late] = instant(first) > instant(second) ? [second, first] : [first, second];
  const c1 = civil(early.unixSec, first.zone);
  const c2 = civil(late.unixSec, first.zone);
  let year = c2.year - c1.year;
  let month = c2.month - c1.month;
  let day = c2.day - c1.day;
  let hour = c2.hour - c1.hour;
  let min = c2.minute - c1.minute;
  let sec = c2.second - c1.second;
  if (sec < 0) [sec, min] = [sec + 60, min - 1];
  if (min < 0) [min, hour] = [min + 60, hour - 1];
  if (hour < 0) [hour, day] = [hour + 24, day - 1];
  if (day < 0) [day, month] = [day + daysIn(c1.month, c1.year), month - 1];
  if (month < 0) [month, year] = [month + 12, year - 1];
  return [year, month, day, hour, min, sec];
}

/** The `time.*` host builtins. */
export function timeBuiltins(now: NowNs): Record<string, Builtin> {
  return {
    'time.now_ns': () => rawJson(now().toString()),
    'time.parse_rfc3339_ns': (value) => parse('time.parse_rfc3339_ns', NAMED_LAYOUTS['RFC3339']!, stringArg('time.parse_rfc3339_ns', 1, value)),
    'time.parse_ns': (layout, value) => {
      const l = stringArg('time.parse_ns', 1, layout);
      return parse('time.parse_ns', NAMED_LAYOUTS[l] ?? l, stringArg('time.parse_ns', 2, value));
    },
    'time.date': (t) => {
      const z = zonedTime('time.date', 1, t);
      const c = civil(z.unixSec, z.zone);
      return [c.year, c.month, c.day];
    },
    'time.clock': (t) => {
      const z = zonedTime('time.clock', 1, t);
      const c = civil(z.unixSec, z.zone);
      return [c.hour, c.minute, c.second];
    },
    'time.weekday': (t) => {
      const z = zonedTime('time.weekday', 1, t);
      return WEEKDAYS[civil(z.unixSec, z.zone).weekday];
    },
    'time.add_date': addDate,
    'time.diff': diff,
  };
}
