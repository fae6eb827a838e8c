import { Test } from '@nestjs/testing';
import { appConfigSchema, ConfigModule, nodeConfigSchema, type AppConfig } from '@herald/config';
import { CONTROL_STORE, type ControlStore } from '../control-store.js';
import { ControlModule } from '../control.module.js';
import { ConfigControlStore } from './config.control-store.js';

const secret = (c: string) => c.repeat(8) + 'Zq8vN3kP7wR2tY6uB1mC4xL9';
const app = (id: string, keys: string[], over: Record<string, unknown> = {}): AppConfig =>
  appConfigSchema.parse({ id, keys, secrets: [secret(id[0])], ...over });

describe('ConfigControlStore', () => {
  const acme = app('acme', ['acme-key-1', 'acme-key-2']);
  const beta = app('beta', ['beta-key-1'], { enabled: false });
  const store = new ConfigControlStore([beta, acme]);

  it('finds apps by id and by any of their keys', async () => {
    expect((await store.getApp('acme'))?.id).toBe('acme');
    expect((await store.getAppByKey('acme-key-2'))?.id).toBe('acme');
    expect((await store.getAppByKey('beta-key-1'))?.id).toBe('beta');
  });

  it('answers undefined for unknown ids and keys, exactly and case-sensitively', async () => {
    expect(await store.getApp('ACME')).toBeUndefined();
    expect(await store.getApp('nope')).toBeUndefined();
    expect(await store.getAppByKey('acme')).toBeUndefined();
    expect(await store.getApp('__proto__')).toBeUndefined();
  });

  it('returns disabled apps (callers check enabled)', async () => {
    expect((await store.getApp('beta'))?.enabled).toBe(false);
  });

  it('lists every app by id, and the list is a copy', async () => {
    const list = await store.listApps();
    expect(list.map((a) => a.id)).toEqual(['acme', 'beta']);
    list.pop();
    expect(await store.listApps()).toHaveLength(2);
  });

  it('hands out immutable snapshots', async () => {
    const got = (await store.getApp('acme'))!;
    expect(() => got.keys.push('x')).toThrow(/not extensible/);
    expect(acme.keys).toHaveLength(2);
  });

  it('refuses duplicate ids or keys when built by hand', () => {
    expect(() => new ConfigControlStore([acme, acme])).toThrow('duplicate app id');
    expect(() => new ConfigControlStore([acme, app('gamma', ['acme-key-1'])])).toThrow('used by another app');
  });
});

describe('ControlModule', () => {
  it('provides CONTROL_STORE from the node config', async () => {
    const config = nodeConfigSchema.parse({
      apps: [{ id: 'acme', keys: ['acme-key-1'], secrets: [secret('a')] }],
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), ControlModule.forRoot()],
    }).compile();
    const store = moduleRef.get<ControlStore>(CONTROL_STORE);
    expect(store).toBeInstanceOf(ConfigControlStore);
    expect((await store.getAppByKey('acme-key-1'))?.id).toBe('acme');
    await moduleRef.close();
  });
});
