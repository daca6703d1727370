/**
 * The stand-in a deferred module leaves in require's cache: nothing loads until an export is
 * used, then every read and write reaches the real module.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deferModule } from '../../src/ops/deferred-module.js';

const require = createRequire(import.meta.url);

/** A CommonJS module as TypeScript compiles one, counting how often it is evaluated. */
function compiledModule(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rag-deferred-')), 'receiver.js');
  writeFileSync(
    path,
    `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
globalThis.__deferredLoads = (globalThis.__deferredLoads ?? 0) + 1;
class Receiver { constructor(name) { this.name = name; } }
exports.default = Receiver;
exports.setting = 1;`,
  );
  return path;
}

const loads = () => (globalThis as { __deferredLoads?: number }).__deferredLoads ?? 0;

describe('deferModule', () => {
  it('loads the module when an export is first used, once, as the real class', () => {
    const path = compiledModule();
    const before = loads();
    deferModule(path);
    const required = require(path) as {
      __esModule: boolean;
      default: new (name: string) => { name: string };
    };
    expect(required.__esModule).toBe(true);
    expect(loads()).toBe(before); // requiring and reading __esModule load nothing
    const Receiver = required.default;
    expect(new Receiver('socket').name).toBe('socket');
    expect(loads()).toBe(before + 1);
    expect(Object.keys(required)).toEqual(['default', 'setting']);
    expect(required.default).toBe(Receiver);
    expect(loads()).toBe(before + 1);
  });

  it('passes writes through to the real module', () => {
    const path = compiledModule();
    deferModule(path);
    const standIn = require(path) as { setting: number };
    standIn.setting = 2;
    expect(standIn.setting).toBe(2);
    expect((require(path) as { setting: number }).setting).toBe(2); // the cache now holds the real module
  });

  it('leaves a module that is loaded already as it is', () => {
    const path = compiledModule();
    const real = require(path) as object;
    deferModule(path);
    expect(require(path)).toBe(real);
  });
});
