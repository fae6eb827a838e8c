import { startTestNode, uniqueId } from '@herald/testing';
it('debug drain', async () => {
  const node = await startTestNode({ node: { shutdown: { drainSeconds: 2 } } });
  const { alpha } = node.apps;
  const first = await node.connect(alpha, 'drain-1');
  const second = await node.connect(alpha, 'drain-2');
  void first.closed.then((c) => console.log('first closed', c, Date.now()));
  void second.closed.then((c) => console.log('second closed', c, Date.now()));
  console.log('closing', Date.now(), uniqueId());
  const closing = node.shutdown();
  closing.then(() => console.log('closed', Date.now()), (e) => console.log('close failed', e));
  await closing;
}, 20000);
