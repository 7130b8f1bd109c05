/**
 * The time.* host builtins against real OPA: each expression runs in
 * `opa eval` and in the wasm build with our builtins, and must agree.
 */
import t from 'tap';
import { createHostBuiltins } from '../../../../src/policy/builtins/index.js';
import { assertAgree, evaluateBoth, opaValue } from './oracle.js';

const ns = (iso: string): string => (BigInt(Date.parse(iso)) * 1_000_000n).toString();

// Instants that exercise leap days, month ends, DST changes and the int64 edges.
const INSTANTS: Record<string, string> = {
  epoch: '0',
  beforeEpoch: '-1',
  leapDay2020: ns('2020-02-29T12:00:00Z'),
  leapDay2000: ns('2000-02-29T23:30:00Z'),
  endOf2099: ns('2099-12-31T23:59:59Z'),
  nyDstStart: ns('2024-03-10T07:30:00Z'), // 03:30 EDT, just after the gap
  berlinDstEnd: ns('2024-10-27T00:30:00Z'), // 02:30 CEST, first pass
  int64Min: '-9223372036854775808',
  janEnd: ns('2021-01-31T10:00:00Z'),
};
const ZONES = ['', 'UTC', 'Local', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Europe/Berlin'];

t.test('time.date, time.clock and time.weekday, in UTC and in time zones', async (t) => {
  const cases: Record<string, string> = {};
  for (const [name, n] of Object.entries(INSTANTS)) {
    for (const fn of ['date', 'clock', 'weekday']) {
      cases[`${fn} ${name}`] = `time.${fn}(${n})`;
      for (const zone of ZONES) cases[`${fn} ${name} in "${zone}"`] = `time.${fn}([${n}, "${zone}"])`;
    }
  }
  const r = assertAgree(t, await evaluateBoth(cases));
  t.strictSame(opaValue(r, 'date leapDay2020'), [2020, 2, 29], 'the oracle itself is sane');
  t.strictSame(opaValue(r, 'clock nyDstStart in "America/New_York"'), [3, 30, 0]);
});

t.test('time zones: unknown and wrongly-cased names fail like Go; a layout element is accepted', async (t) => {
  const r = assertAgree(t, await evaluateBoth({
    unknown: 'time.date([0, "Mars/Olympus"])',
    lowerCase: 'time.date([0, "america/new_york"])',
    withLayout: 'time.date(input.withLayout)',
    emptyArray: 'time.date(input.empty)',
    notNumber: 'time.clock(input.text)',
    fraction: 'time.clock(1.5)',
  }, { input: { empty: [], text: 'x', withLayout: [0, 'Asia/Tokyo', '2006'] } }));
  t.equal(r['unknown']!.opa.kind, 'error');
});

t.test('time.add_date: leap years, month-end overflow, negatives, DST', async (t) => {
  const cases: Record<string, string> = {
    'leap day + 1 year': `time.add_date(${INSTANTS['leapDay2020']}, 1, 0, 0)`,
    'leap day + 4 years': `time.add_date(${INSTANTS['leapDay2020']}, 4, 0, 0)`,
    'Jan 31 + 1 month (2021)': `time.add_date(${INSTANTS['janEnd']}, 0, 1, 0)`,
    'Jan 31 2020 + 1 month (leap)': `time.add_date(${ns('2020-01-31T00:00:00Z')}, 0, 1, 0)`,
    'Mar 31 - 1 month': `time.add_date(${ns('2020-03-31T00:00:00Z')}, 0, -1, 0)`,
    'Dec 31 + 2 months': `time.add_date(${ns('2019-12-31T00:00:00Z')}, 0, 2, 0)`,
    '+13 months -40 days': `time.add_date(${ns('2019-12-31T05:06:07Z')}, 0, 13, -40)`,
    '+366 days': `time.add_date(${INSTANTS['epoch']}, 0, 0, 366)`,
    'before epoch - 1 year': `time.add_date(-1, -1, 0, 0)`,
    // OPA's type checker allows only a number here; [ns, tz] still works at run time, via input.
    'New York day across DST start': 'time.add_date(input.nyNoon, 0, 0, 1)',
    'New York into the DST gap': 'time.add_date(input.nyGap, 0, 0, 1)',
    'Berlin into the DST overlap': 'time.add_date(input.berlinOverlap, 0, 0, 1)',
    'Lord Howe half-hour DST': 'time.add_date(input.lordHowe, 0, 0, 1)',
    'out of range': `time.add_date(0, 300, 0, 0)`,
    'fractional months': 'time.add_date(0, 0, input.half, 0)',
    'string years': 'time.add_date(0, input.text, 0, 0)',
  };
  const zoned = (iso: string, zone: string): [number, string] => [Number(ns(iso)), zone];
  const input = {
    half: 1.5, text: 'x',
    nyNoon: zoned('2024-03-09T17:00:00Z', 'America/New_York'),
    nyGap: zoned('2024-03-09T07:30:00Z', 'America/New_York'),
    berlinOverlap: zoned('2024-10-26T00:30:00Z', 'Europe/Berlin'),
    lordHowe: zoned('2024-04-06T15:00:00Z', 'Australia/Lord_Howe'),
  };
  const r = assertAgree(t, await evaluateBoth(cases, { input }));
  t.equal(r['out of range']!.opa.kind, 'error');
  // Exactness: the result is checked by equality inside the policy, where the wasm keeps all digits.
  const exact = ns('2021-03-01T12:00:00Z');
  const e = assertAgree(t, await evaluateBoth({ exact: `time.add_date(${INSTANTS['leapDay2020']}, 1, 0, 0) == ${exact}` }));
  t.equal(opaValue(e, 'exact'), true);
});

t.test('time.diff: both orders, month ends, leap years, zones', async (t) => {
  const pairs: [string, string, string][] = [
    ['same', '0', '0'],
    ['month end', ns('2020-01-31T00:00:00Z'), ns('2020-03-01T00:00:00Z')],
    ['leap year span', ns('2019-02-28T23:59:59Z'), ns('2024-02-29T00:00:01Z')],
    ['borrow every field', ns('2020-05-31T23:59:59Z'), ns('2021-03-01T00:00:00Z')],
    ['nanoseconds apart', '1', '999999999'],
    ['before epoch', '-86400000000000', INSTANTS['leapDay2000']!],
  ];
  const cases: Record<string, string> = {};
  for (const [name, a, b] of pairs) {
    cases[name] = `time.diff(${a}, ${b})`;
    cases[`${name} reversed`] = `time.diff(${b}, ${a})`;
    cases[`${name} New York`] = `time.diff([${a}, "America/New_York"], ${b})`;
    cases[`${name} Kolkata vs Chatham`] = `time.diff([${a}, "Asia/Kolkata"], [${b}, "Pacific/Chatham"])`;
  }
  cases['bad zone'] = 'time.diff([0, "Nowhere/Town"], 0)';
  const r = assertAgree(t, await evaluateBoth(cases));
  t.strictSame(opaValue(r, 'month end'), [0, 1, 1, 0, 0, 0]);
});

t.test('time.parse_rfc3339_ns', async (t) => {
  const values = [
    '2017-06-02T19:00:00Z', '2017-06-02T19:00:00.123456789Z', '2017-06-02T19:00:00.1234567891Z', '2017-06-02T19:00:00-07:00',
    '2024-02-29T23:59:59.5+05:30', '2017-06-02T19:00:00+24:00', '2017-06-02t19:00:00Z', '2017-02-30T00:00:00Z',
    '2017-06-02T24:00:00Z', '1600-01-01T00:00:00Z', '2262-04-11T23:47:16.854775807Z', '2262-04-11T23:47:16.854775808Z',
    '2017-06-02T19:00:00', 'garbage', '',
  ];
  const cases = Object.fromEntries(values.map((v) => [v, `time.parse_rfc3339_ns(${JSON.stringify(v)})`]));
  cases['not a string'] = 'time.parse_rfc3339_ns(input.n)';
  const r = assertAgree(t, await evaluateBoth(cases, { input: { n: 1 } }));
  t.equal(r['garbage']!.opa.kind, 'error');
  const e = assertAgree(t, await evaluateBoth({
    exact: 'time.parse_rfc3339_ns("2262-04-11T23:47:16.854775807Z") == 9223372036854775807',
    offByOne: 'time.parse_rfc3339_ns("2262-04-11T23:47:16.854775806Z") == 9223372036854775807',
  }));
  t.equal(opaValue(e, 'exact'), true, 'nanoseconds come back exact');
  t.equal(opaValue(e, 'offByOne'), false);
});

t.test('time.parse_ns with Go layouts', async (t) => {
  const pairs: [string, string][] = [
    ['2006-01-02', '2020-02-29'],
    ['2006-01-02', '2021-02-29'],
    ['RFC822', '02 Jan 06 15:04 UTC'],
    ['RFC822Z', '02 Jan 06 15:04 -0700'],
    ['RFC1123', 'Mon, 02 Jan 2006 15:04:05 GMT+3'],
    ['RFC1123Z', 'Mon, 02 Jan 2006 15:04:05 +0130'],
    ['RFC3339Nano', '2006-01-02T15:04:05.999999999Z'],
    ['ANSIC', 'Thu Feb  4 21:00:57 2010'],
    ['UnixDate', 'Thu Feb  4 21:00:57 UTC 2010'],
    ['RubyDate', 'Thu Feb 04 21:00:57 -0800 2010'],
    ['RFC850', 'Thursday, 04-Feb-10 21:00:57 UTC'],
    ['02/01/2006 3:04PM', '29/02/2020 12:30AM'],
    ['02/01/2006 3:04pm', '29/02/2020 1:05pm'],
    ['2006-002', '2020-060'],
    ['2006-002', '2020-366'],
    ['2006-002', '2021-366'],
    ['2006 __2', '2021  45'],
    ['Jan _2 2006 15:04:05.000 -07:00:00', 'feb  3 2013 04:05:06.007 +01:02:03'],
    ['20060102150405', '20200229235959'],
    ['2006-01-02 15:04:05', '2020-02-29 23:59:59.123'],
    ['2006-01-02 15:04:05,000', '2020-02-29 23:59:59,120'],
    ['January 2, 2006 Z07', 'March 1, 2021 -05'],
    ['Monday 2006-01-02', 'Funday 2020-01-01'],
    ['06 1 2', '69 1 1'],
    ['06 1 2', '68 12 31'],
    ['2006-01-02', '2020-13-01'],
    ['2006-01-02', '2020-01-02 extra'],
    ['15:04', '25:00'],
  ];
  const cases = Object.fromEntries(pairs.map(([l, v]) => [`${l} <- ${v}`, `time.parse_ns(${JSON.stringify(l)}, ${JSON.stringify(v)})`]));
  cases['layout not a string'] = 'time.parse_ns(input.n, "x")';
  cases['value not a string'] = 'time.parse_ns("2006", input.n)';
  assertAgree(t, await evaluateBoth(cases, { input: { n: 1 } }));
});

t.test('time.now_ns', async (t) => {
  let calls = 0n;
  const ticking = (): bigint => 1_700_000_000_123_456_789n + calls++;
  const r = assertAgree(t, await evaluateBoth({
    'once per query': 'time.now_ns() == time.now_ns()',
    'after 2020': 'time.now_ns() > 1577836800000000000',
  }, { host: { now: ticking } }));
  t.equal(opaValue(r, 'once per query'), true);

  // Only the wasm side sees the injected clock.
  const pinned = await evaluateBoth({ pinned: 'time.now_ns() == 1700000000123456789' }, { host: { now: () => 1_700_000_000_123_456_789n } });
  t.strictSame(pinned['pinned']!.wasm, { kind: 'value', value: true }, 'the injected clock reaches the policy exactly');

  const now = createHostBuiltins({ now: ticking })['time.now_ns']!;
  const first = Buffer.from(now() as ArrayBuffer).toString();
  t.equal(Buffer.from(now() as ArrayBuffer).toString(), first, 'same reading within one synchronous evaluation');
  await Promise.resolve();
  t.not(Buffer.from(now() as ArrayBuffer).toString(), first, 'a new reading once the job has ended');
  t.match(first, /^\d{19}$/);
});

t.test('bad arguments: strict mode throws "expected X, got Y" naming the builtin', async (t) => {
  const strict = createHostBuiltins({ strictBuiltinErrors: true });
  t.throws(() => strict['time.date']!('x'), /^time\.date: operand 1: expected either number \(ns\) or \[number \(ns\), string \(tz\)\], got string$/);
  t.throws(() => strict['time.parse_ns']!(1, 'x'), /^time\.parse_ns: operand 1: expected string, got number$/);
  t.throws(() => strict['time.add_date']!(0, 1.5, 0, 0), /^time\.add_date: operand 2: expected integer number, got floating-point number$/);
  t.throws(() => strict['time.date']!([0, 'Mars/Olympus']), /^time\.date: unknown time zone Mars\/Olympus$/);
  const errors: Error[] = [];
  const lenient = createHostBuiltins({ onError: (e) => errors.push(e) });
  t.equal(lenient['time.date']!('x'), undefined, 'non-strict: undefined, as in OPA');
  t.match(errors[0]?.message, /^time\.date: /);
});
