/**
 * Go's `time.Parse` (src/time/format.go, Go 1.26), ported for
 * `time.parse_ns` and `time.parse_rfc3339_ns`. One difference: Go gives a
 * zone abbreviation (layout "MST") the offset the server's local zone has
 * for it, if any; we always read it as offset 0, as Go does for abbreviations
 * the local zone does not know (and for "UTC" and "GMT±h").
 */
import { daysFromCivil, daysIn } from './time-zone.js';

/** Layout names OPA accepts in place of a layout (topdown/time.go acceptedTimeFormats). */
export const NAMED_LAYOUTS: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};

type Std =
  | 'January' | 'Jan' | '1' | '01' | 'Monday' | 'Mon' | '2' | '_2' | '02' | '__2' | '002'
  | '15' | '3' | '03' | '4' | '04' | '5' | '05' | '2006' | '06' | 'PM' | 'pm' | 'MST'
  | 'Z0700' | 'Z070000' | 'Z07' | 'Z07:00' | 'Z07:00:00' | '-0700' | '-070000' | '-07' | '-07:00' | '-07:00:00'
  | 'frac0' | 'frac9';

interface Chunk { prefix: string; std: Std | undefined; digits: number; suffix: string }

const ZONES: readonly Std[] = ['-070000', '-07:00:00', '-0700', '-07:00', '-07', 'Z070000', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07'];
const isDigit = (s: string, i: number): boolean => i < s.length && s[i]! >= '0' && s[i]! <= '9';
const isLower = (s: string): boolean => s.length > 0 && s[0]! >= 'a' && s[0]! <= 'z';

/** Go's nextStdChunk: the text before the first layout element, the element, and the rest. */
function nextStdChunk(layout: string): Chunk {
  for (let i = 0; i < layout.length; i++) {
    const at = (std: Std, len: number, digits = 0): Chunk => ({ prefix: layout.slice(0, i), std, digits, suffix: layout.slice(i + len) });
    const rest = layout.slice(i);
    switch (layout[i]) {
      case 'J':
        if (rest.startsWith('January')) return at('January', 7);
        if (rest.startsWith('Jan') && !isLower(rest.slice(3))) return at('Jan', 3);
        break;
      case 'M':
        if (rest.startsWith('Monday')) return at('Monday', 6);
        if (rest.startsWith('Mon') && !isLower(rest.slice(3))) return at('Mon', 3);
        if (rest.startsWith('MST')) return at('MST', 3);
        break;
      case '0':
        if (rest.length >= 2 && rest[1]! >= '1' && rest[1]! <= '6') return at((['01', '02', '03', '04', '05', '06'] as const)[Number(rest[1]) - 1]!, 2);
        if (rest.startsWith('002')) return at('002', 3);
        break;
      case '1':
        return rest.startsWith('15') ? at('15', 2) : at('1', 1);
      case '2':
        return rest.startsWith('2006') ? at('2006', 4) : at('2', 1);
      case '_':
        if (rest.startsWith('_2')) {
          if (rest.startsWith('_2006')) return { prefix: layout.slice(0, i + 1), std: '2006', digits: 0, suffix: layout.slice(i + 5) };
          return at('_2', 2);
        }
        if (rest.startsWith('__2')) return at('__2', 3);
        break;
      case '3': return at('3', 1);
      case '4': return at('4', 1);
      case '5': return at('5', 1);
      case 'P':
        if (rest.startsWith('PM')) return at('PM', 2);
        break;
      case 'p':
        if (rest.startsWith('pm')) return at('pm', 2);
        break;
      case '-':
      case 'Z':
        for (const z of ZONES) if (rest.startsWith(z)) return at(z, z.length);
        break;
      case '.':
      case ',': {
        const ch = rest[1];
        if (ch === '0' || ch === '9') {
          let j = 1;
          while (rest[j] === ch) j++;
          if (!isDigit(rest, j)) return at(ch === '0' ? 'frac0' : 'frac9', j, j - 1);
        }
        break;
      }
    }
  }
  return { prefix: layout, std: undefined, digits: 0, suffix: '' };
}

const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const SHORT_DAYS = LONG_DAYS.map((d) => d.slice(0, 3));
const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const SHORT_MONTHS = LONG_MONTHS.map((m) => m.slice(0, 3));

/** Days before each month in a common year. */
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

class Bad extends Error {}
const bad = (): never => {
  throw new Bad();
};

/** Case-insensitive prefix lookup; returns [index, rest]. */
function lookup(table: readonly string[], value: string): [number, string] {
  for (const [i, v] of table.entries()) {
    if (value.length >= v.length && value.slice(0, v.length).toLowerCase() === v.toLowerCase()) return [i, value.slice(v.length)];
  }
  return bad();
}

/** One or two digits (exactly two when `fixed`). */
function getnum(s: string, fixed: boolean): [number, string] {
  if (!isDigit(s, 0)) return bad();
  if (!isDigit(s, 1)) return fixed ? bad() : [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] {
  let i = 0;
  while (i < 3 && isDigit(s, i)) i++;
  if (i === 0 || (fixed && i !== 3)) return bad();
  return [Number(s.slice(0, i)), s.slice(i)];
}

/** `value` without `prefix`, where runs of spaces match runs of spaces. */
function skip(value: string, prefix: string): string {
  while (prefix.length > 0) {
    if (prefix[0] === ' ') {
      if (value.length > 0 && value[0] !== ' ') return bad();
      prefix = prefix.replace(/^ +/, '');
      value = value.replace(/^ +/, '');
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) return bad();
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return value;
}

/** Fraction `value[0..n)` (separator plus digits) as nanoseconds; Go truncates past 9 digits. */
function nanos(value: string, n: number): number {
  if (value[0] !== '.' && value[0] !== ',') return bad();
  const digits = value.slice(1, Math.min(n, 10));
  if (!/^\d+$/.test(digits)) return bad();
  return Number(digits.padEnd(9, '0'));
}

/** Length of a zone abbreviation at the start of `value` (Go's parseTimeZone), or 0. */
function zoneLength(value: string): number {
  if (value.length < 3) return 0;
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4;
  const signed = (s: string): number => {
    const m = /^[+-](\d+)/.exec(s);
    return m && Number(m[1]) <= 23 ? m[0].length : 0;
  };
  if (value.startsWith('GMT')) return value.length === 3 ? 3 : 3 + signed(value.slice(3));
  if (value[0] === '+' || value[0] === '-') return signed(value);
  const upper = /^[A-Z]{0,6}/.exec(value)![0].length;
  if (upper === 3) return 3;
  if (upper === 4 && (value[3] === 'T' || value.startsWith('WITA'))) return 4;
  if (upper === 5 && value[4] === 'T') return 5;
  return 0;
}

/** Result of a parse: the instant in Unix seconds plus nanoseconds. */
export interface ParsedTime { readonly unixSec: number; readonly nsec: number }

/** Go's `time.Parse(layout, value)`; throws Go's error text. */
export function parseGoTime(layout: string, value: string): ParsedTime {
  const q = (s: string): string => JSON.stringify(s);
  const fail = (msg: string): never => {
    throw new Error(`parsing time ${q(value)}${msg}`);
  };
  let rest = value;
  let lay = layout;
  let year = 0, month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0, nsec = 0;
  let pm = false, am = false, utc = false, zoneOffset: number | undefined;
  for (;;) {
    const { prefix, std, digits, suffix } = nextStdChunk(lay);
    const stdstr = lay.slice(prefix.length, lay.length - suffix.length);
    try {
      rest = skip(rest, prefix);
    } catch {
      return fail(` as ${q(layout)}: cannot parse ${q(rest)} as ${q(prefix)}`);
    }
    if (std === undefined) {
      if (rest.length !== 0) fail(`: extra text: ${q(rest)}`);
      break;
    }
    lay = suffix;
    const hold = rest;
    let range = '';
    try {
      switch (std) {
        case '06':
          if (rest.length < 2 || !/^\d\d/.test(rest)) bad();
          year = Number(rest.slice(0, 2));
          year += year >= 69 ? 1900 : 2000;
          rest = rest.slice(2);
          break;
        case '2006':
          if (rest.length < 4 || !/^\d{4}/.test(rest)) bad();
          year = Number(rest.slice(0, 4));
          rest = rest.slice(4);
          break;
        case 'Jan':
        case 'January':
          [month, rest] = lookup(std === 'Jan' ? SHORT_MONTHS : LONG_MONTHS, rest);
          month++;
          break;
        case '1':
        case '01':
          [month, rest] = getnum(rest, std === '01');
          if (month <= 0 || month > 12) range = 'month';
          break;
        case 'Mon':
        case 'Monday':
          [, rest] = lookup(std === 'Mon' ? SHORT_DAYS : LONG_DAYS, rest); // checked, then ignored
          break;
        case '2':
        case '_2':
        case '02':
          if (std === '_2' && rest[0] === ' ') rest = rest.slice(1);
          [day, rest] = getnum(rest, std === '02');
          break;
        case '__2':
        case '002':
          if (std === '__2') rest = rest.replace(/^ {1,2}/, '');
          [yday, rest] = getnum3(rest, std === '002');
          break;
        case '15':
          [hour, rest] = getnum(rest, false);
          if (hour >= 24) range = 'hour';
          break;
        case '3':
        case '03':
          [hour, rest] = getnum(rest, std === '03');
          if (hour > 12) range = 'hour';
          break;
        case '4':
        case '04':
          [min, rest] = getnum(rest, std === '04');
          if (min >= 60) range = 'minute';
          break;
        case '5':
        case '05': {
          [sec, rest] = getnum(rest, std === '05');
          if (sec >= 60) {
            range = 'second';
            break;
          }
          // A fraction the layout does not mention is still read.
          if (rest.length >= 2 && (rest[0] === '.' || rest[0] === ',') && isDigit(rest, 1)) {
            const next = nextStdChunk(lay).std;
            if (next === 'frac0' || next === 'frac9') break;
            let n = 2;
            while (isDigit(rest, n)) n++;
            nsec = nanos(rest, n);
            rest = rest.slice(n);
          }
          break;
        }
        case 'PM':
        case 'pm': {
          const p = rest.slice(0, 2);
          if (rest.length < 2) bad();
          if (p === (std === 'PM' ? 'PM' : 'pm')) pm = true;
          else if (p === (std === 'PM' ? 'AM' : 'am')) am = true;
          else bad();
          rest = rest.slice(2);
          break;
        }
        case 'MST': {
          if (rest.startsWith('UTC')) {
            utc = true;
            rest = rest.slice(3);
            break;
          }
          const n = zoneLength(rest);
          if (n === 0) bad();
          rest = rest.slice(n); // the abbreviation only labels the time (see the file comment)
          break;
        }
        case 'frac0': {
          const n = 1 + digits;
          if (rest.length < n) bad();
          nsec = nanos(rest, n);
          rest = rest.slice(n);
          break;
        }
        case 'frac9': {
          if (rest.length < 2 || (rest[0] !== '.' && rest[0] !== ',') || !isDigit(rest, 1)) break;
          let i = 1;
          while (isDigit(rest, i)) i++;
          nsec = nanos(rest, i);
          rest = rest.slice(i);
          break;
        }
        default: {
          // Numeric zone offsets; the ISO 8601 forms also accept "Z".
          if (std.startsWith('Z') && rest[0] === 'Z') {
            utc = true;
            rest = rest.slice(1);
            break;
          }
          const shape = std.slice(1); // "07", "0700", "07:00", "070000", "07:00:00"
          const colon = shape.includes(':');
          if (rest.length < shape.length + 1) bad();
          if (colon && (rest[3] !== ':' || (shape.length === 8 && rest[6] !== ':'))) bad();
          const field = (at: number, present: boolean): number => (present ? getnum(rest.slice(at, at + 2), true)[0] : 0);
          const hh = field(1, true);
          const mm = field(colon ? 4 : 3, shape.length >= 4);
          const ss = field(colon ? 7 : 5, shape.length >= 6);
          if (hh > 24) range = 'time zone offset hour';
          if (mm > 60) range = 'time zone offset minute';
          if (ss > 60) range = 'time zone offset second';
          const off = (hh * 60 + mm) * 60 + ss;
          if (rest[0] === '+') zoneOffset = off;
          else if (rest[0] === '-') zoneOffset = -off;
          else bad();
          rest = rest.slice(shape.length + 1);
        }
      }
    } catch (err) {
      if (!(err instanceof Bad)) throw err;
      return fail(` as ${q(layout)}: cannot parse ${q(hold)} as ${q(stdstr)}`);
    }
    if (range !== '') fail(`: ${range} out of range`);
  }
  if (pm && hour < 12) hour += 12;
  else if (am && hour === 12) hour = 0;

  if (yday >= 0) {
    const leap = daysIn(2, year) === 29;
    let m = 0, d = 0;
    if (leap && yday === 60) [m, d] = [2, 29];
    else if (leap && yday > 60) yday--;
    if (yday < 1 || yday > 365) fail(': day-of-year out of range');
    if (m === 0) {
      // Go counts in a common year here; a leap yday was shifted above.
      m = Math.floor((yday - 1) / 31) + 1;
      if (DAYS_BEFORE[m]! < yday) m++;
      d = yday - DAYS_BEFORE[m - 1]!;
    }
    if (month >= 0 && month !== m) fail(': day-of-year does not match month');
    if (day >= 0 && day !== d) fail(': day-of-year does not match day');
    month = m;
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) fail(': day out of range');

  const wall = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  // A zone abbreviation (even "GMT+3") only labels the time: Go keeps the wall clock as UTC.
  const offset = !utc && zoneOffset !== undefined ? zoneOffset : 0;
  return { unixSec: wall - offset, nsec };
}
