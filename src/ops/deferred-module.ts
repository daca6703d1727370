/**
 * A CommonJS module loaded when one of its exports is first used rather than when it is first
 * required. Bolt's App requires its Socket Mode receiver (and with it undici's 170 modules) and
 * its HTTP receiver requires the OAuth installer (JWT, semver) at the top of their files, although
 * a bot in HTTP mode without OAuth never touches either (together about 7 MB of its idle memory).
 * Putting a stand-in into require's cache before Bolt loads keeps that memory free until a bot
 * that does use them constructs one; nothing changes in what Bolt can do.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

type Exports = Record<PropertyKey, unknown>;

/**
 * Caches a stand-in for the module at the absolute path `resolved`, unless it is loaded already.
 * The stand-in answers `__esModule` itself (TypeScript's interop helpers read it as they
 * require), and anything else from the real module, loaded then, once; writes go to the real
 * module too. Only for modules compiled from ES modules (exports an object marked `__esModule`):
 * a module whose exports are a function cannot be stood in for by an object.
 */
export function deferModule(resolved: string): void {
  if (require.cache[resolved]) return;
  let real: Exports | undefined;
  const load = (): Exports => {
    if (!real) {
      delete require.cache[resolved];
      real = require(resolved) as Exports;
    }
    return real;
  };
  const standIn = new Proxy<Exports>(
    {},
    {
      get: (_target, key) => (key === '__esModule' ? true : load()[key]),
      set: (_target, key, value) => Reflect.set(load(), key, value),
      defineProperty: (_target, key, descriptor) => Reflect.defineProperty(load(), key, descriptor),
      deleteProperty: (_target, key) => Reflect.deleteProperty(load(), key),
      has: (_target, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Object.getOwnPropertyDescriptor(load(), key);
        // A proxy may only report a property its (empty) target lacks as configurable.
        return descriptor && { ...descriptor, configurable: true };
      },
    },
  );
  const module = new Module(resolved);
  module.filename = resolved;
  module.loaded = true;
  module.exports = standIn;
  require.cache[resolved] = module;
}
