import t from 'tap';
import { HeaderMap, deserializePairs, serializePairs, toHeaderList } from '../../../src/wasm-host/header-map.js';

t.test('serialized pairs follow the ABI layout', async (t) => {
  const bytes = Buffer.from(serializePairs([['a', '1'], ['b', '22']]));
  // count, (1,1), (1,2), then "a\0" "1\0" "b\0" "22\0" (the spec's own example).
  t.same([...bytes], [2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0]);
  t.same(deserializePairs(bytes), [['a', '1'], ['b', '22']], 'round trip');
  t.same(deserializePairs(serializePairs([['k', 'é ü'], ['', '']])), [['k', 'é ü'], ['', '']], 'UTF-8 and empty strings survive');
});

t.test('malformed serialized pairs: empty like Envoy, or refused when they overrun', async (t) => {
  t.same(deserializePairs(new Uint8Array(0)), [], 'no bytes is an empty map');
  t.same(deserializePairs(Uint8Array.of(0)), [], 'a single 0 byte is an empty map (the spec allows it)');
  t.same(deserializePairs(Uint8Array.of(5, 0, 0, 0, 1, 0)), [], 'a count whose length table does not fit is empty, as in Envoy');
  const overrun = Buffer.from(serializePairs([['key', 'value']]));
  overrun.writeUInt32LE(200, 8); // value length beyond the end
  t.equal(deserializePairs(overrun), undefined, 'a value that runs past the end is refused');
});

t.test('HeaderMap has Envoy semantics for the proxy-wasm calls', async (t) => {
  const map = new HeaderMap([['X-A', '1'], ['x-b', '2'], ['x-a', '3']]);
  t.equal(map.get('x-a'), '1', 'get returns the first value (Envoy does)');
  t.same(map.getAll('X-A'), ['1', '3'], 'getAll returns every value, names compared lowercase');
  map.add('x-c', '4');
  map.replace('x-a', 'new');
  t.same(map.pairs(), [['x-b', '2'], ['x-c', '4'], ['x-a', 'new']], 'replace removes every value and appends one at the end');
  map.remove('x-b');
  map.remove('x-missing');
  t.equal(map.size, 2);
  t.equal(map.byteSize(), 'x-c'.length + 1 + 'x-a'.length + 3, 'byteSize sums key and value lengths');
  map.setPairs([['Y', 'z']]);
  t.same(map.pairs(), [['y', 'z']], 'setPairs replaces the map and lowercases keys');
});

t.test('toHeaderList accepts pairs or a record with repeated values', async (t) => {
  t.same(toHeaderList({ A: 'x', b: ['1', '2'] }), [['a', 'x'], ['b', '1'], ['b', '2']]);
  t.same(toHeaderList([['C', 'd']]), [['c', 'd']]);
  t.same(toHeaderList(undefined), []);
});
