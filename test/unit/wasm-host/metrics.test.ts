import t from 'tap';
import { Status } from '../../../src/wasm-host/abi.js';
import { MetricStore } from '../../../src/wasm-host/metrics.js';

t.test('ids carry the metric type in their low bits, as in Envoy', async (t) => {
  const store = new MetricStore();
  t.same(store.define(0, 'c'), [Status.Ok, 4]);
  t.same(store.define(1, 'g'), [Status.Ok, 5]);
  t.same(store.define(2, 'h'), [Status.Ok, 6]);
  t.same(store.define(0, 'c2'), [Status.Ok, 8]);
  t.same(store.define(3, 'x'), [Status.BadArgument, 0], 'an unknown type is BAD_ARGUMENT');
});

t.test('counters, gauges and histograms answer like Envoy', async (t) => {
  const store = new MetricStore();
  const [, counter] = store.define(0, 'requests');
  const [, gauge] = store.define(1, 'inflight');
  const [, histogram] = store.define(2, 'sizes');
  t.equal(store.increment(counter, 2n), Status.Ok);
  t.equal(store.increment(counter, 0n), Status.BadArgument, 'a counter takes only positive deltas');
  t.equal(store.increment(counter, -1n), Status.BadArgument);
  t.equal(store.record(counter, 3n), Status.Ok, 'recording into a counter adds');
  t.same(store.get(counter), [Status.Ok, 5n]);
  t.equal(store.increment(gauge, 5n), Status.Ok);
  t.equal(store.increment(gauge, -2n), Status.Ok, 'a gauge goes down');
  t.same(store.get(gauge), [Status.Ok, 3n]);
  t.equal(store.record(gauge, 10n), Status.Ok, 'recording into a gauge sets it');
  t.same(store.get(gauge), [Status.Ok, 10n]);
  t.equal(store.record(histogram, 42n), Status.Ok);
  t.equal(store.increment(histogram, 1n), Status.BadArgument, 'a histogram cannot be incremented');
  t.same(store.get(histogram), [Status.BadArgument, 0n], 'nor read');
  t.equal(store.increment(0x7ffffff0, 1n), Status.NotFound, 'an unknown id is NOT_FOUND');
  t.equal(store.record(0x7ffffff0, 1n), Status.NotFound);
  t.same(store.lookup('sizes')?.samples, [42n]);
});

t.test('a name defined twice is one metric', async (t) => {
  const store = new MetricStore();
  const [, a] = store.define(0, 'same');
  const [, b] = store.define(0, 'same');
  t.not(a, b, 'two ids');
  store.increment(a, 1n);
  store.increment(b, 1n);
  t.equal(store.lookup('same')?.value, 2n, 'one value');
  t.equal(store.snapshot().length, 1);
});
