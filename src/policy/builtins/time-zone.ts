/**
 * Calendar arithmetic and time zones for the `time.*` builtins, matching
 * Go's `time` package. Zone data comes from Intl (ICU), not Go's tzdata, so
 * the two can differ where the databases do.
 */
import { BuiltinError } from './args.js';

/** A location: seconds east of UTC at a given instant. */
export interface Zone {
  readonly name: string;
  offsetAt(unixSec: number): number;
}

/** UTC. */
export const UTC: Zone = { name: 'UTC', offsetAt: () => 0 };

// Date's range; outside it the result fails OPA's int64-nanosecond check anyway.
const MAX_DATE_SEC = 8.64e12;

function intlZone(name: string): Zone {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: name, hourCycle: 'h23', era: 'short',
    year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  return {
    name,
    offsetAt(unixSec) {
      if (!(Math.abs(unixSec) < MAX_DATE_SEC)) return 0;
      const f: Record<string, string> = {};
      for (const p of fmt.formatToParts(unixSec * 1000)) f[p.type] = p.value;
      const year = f['era'] === 'BC' ? 1 - Number(f['year']) : Number(f['year']);
      const local = daysFromCivil(year, Number(f['month']), Number(f['day'])) * 86400 +
        Number(f['hour']) * 3600 + Number(f['minute']) * 60 + Number(f['second']);
      return local - unixSec;
    },
  };
}

const zones = new Map<string, Zone>();
let canonicalLower: Map<string, string> | undefined;

/**
 * The zone OPA's tzTime resolves: "" and "UTC" are UTC, "Local" the
 * process's zone, anything else an IANA name (case-sensitive, as Go's).
 */
export function resolveZone(builtin: string, name: string): Zone {
  if (name === '' || name === 'UTC') return UTC;
  const key = name === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  let zone = zones.get(key);
  if (zone) return zone;
  const unknown = new BuiltinError(builtin, `unknown time zone ${name}`);
  try {
    zone = intlZone(key);
  } catch {
    throw unknown;
  }
  canonicalLower ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  const canonical = canonicalLower.get(key.toLowerCase());
  if (name !== 'Local' && canonical !== undefined && canonical !== key) throw unknown; // Intl ignores case, Go does not
  zones.set(key, zone);
  return zone;
}

/** Days since 1970-01-01 of a proleptic Gregorian date; `day` may overflow the month. */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Go's Date normalises the month into the year first.
  const m0 = month - 1;
  const y = year + Math.floor(m0 / 12);
  const m = (((m0 % 12) + 12) % 12) + 1;
  // H. Hinnant's days_from_civil, from day 1 of the month.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468 + (day - 1);
}

/** Local calendar fields. */
export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  weekday: number;
}

/** Calendar fields of `unixSec` in `zone`. */
export function civil(unixSec: number, zone: Zone): Civil {
  const local = unixSec + zone.offsetAt(unixSec);
  const days = Math.floor(local / 86400);
  const secs = local - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: doy - Math.floor((153 * mp + 2) / 5) + 1,
    hour: Math.floor(secs / 3600),
    minute: Math.floor((secs % 3600) / 60),
    second: secs % 60,
    weekday: (((days + 4) % 7) + 7) % 7,
  };
}

/**
 * Unix seconds of Go's `time.Date(year, month, day, hour, min, sec, 0, zone)`:
 * fields may overflow, and a wall time in a DST gap or overlap resolves the
 * way Go's does (offset looked up at the wall time read as UTC, then again
 * at the corrected instant).
 */
export function goDate(year: number, month: number, day: number, hour: number, min: number, sec: number, zone: Zone): number {
  const unix = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  const first = zone.offsetAt(unix);
  if (first === 0) return unix;
  return unix - zone.offsetAt(unix - first);
}

/** Days in `month` of `year`. */
export function daysIn(month: number, year: number): number {
  return daysFromCivil(year, month + 1, 1) - daysFromCivil(year, month, 1);
}
