import t from 'tap';
import { deserializePairs } from '../../../src/wasm-host/header-map.js';
import { headerTree, lookupProperty, serializeProperty, setProperty, splitPath, type PropertyTree } from '../../../src/wasm-host/properties.js';

t.test('values serialize as Envoy serializes CEL values', async (t) => {
  t.same([...serializeProperty('ab')], [0x61, 0x62], 'strings as UTF-8');
  t.same([...serializeProperty(200)], [200, 0, 0, 0, 0, 0, 0, 0], 'integers as 8-byte little-endian');
  t.same([...serializeProperty(-1n)], [255, 255, 255, 255, 255, 255, 255, 255], 'negative int64');
  t.same([...serializeProperty(true)], [1], 'booleans as one byte');
  t.equal(Buffer.from(serializeProperty(1.5)).readDoubleLE(), 1.5, 'non-integers as float64');
  t.same(deserializePairs(serializeProperty({ a: 'x', b: 'y' })), [['a', 'x'], ['b', 'y']], 'maps as serialized pairs');
});

t.test('paths walk the tree one NUL-separated segment at a time', async (t) => {
  const tree: PropertyTree = { request: { path: '/a', headers: headerTree([['x-id', '1'], ['x-id', '2'], [':path', '/a']]) } };
  t.same(splitPath(Buffer.from('request\0path')), ['request', 'path']);
  t.equal(lookupProperty(tree, ['request', 'path']), '/a');
  t.equal(lookupProperty(tree, ['request', 'headers', 'x-id']), '1,2', 'repeated headers join with a comma, as in Envoy');
  t.equal(lookupProperty(tree, ['request', 'nope']), undefined);
  t.equal(lookupProperty(tree, ['request', 'path', 'deeper']), undefined, 'a leaf has no children');
  t.equal(lookupProperty(tree, ['toString']), undefined, 'prototype names are not properties');
});

t.test('overrides set dotted paths', async (t) => {
  const tree: PropertyTree = {};
  setProperty(tree, 'source.address', '10.0.0.1:5000');
  setProperty(tree, 'source.port', 5000);
  setProperty(tree, 'connection.mtls', true);
  t.same(tree, { source: { address: '10.0.0.1:5000', port: 5000 }, connection: { mtls: true } });
});
