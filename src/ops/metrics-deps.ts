/**
 * Loaded before prom-client (see the import order in ./metrics.ts). prom-client's process
 * metrics require the OpenTelemetry API at the top of their file but use it only for exemplars,
 * which this bot does not enable; deferring it keeps about 50 modules out of every process.
 */
import { createRequire } from 'node:module';
import { deferModule } from './deferred-module.js';

const require = createRequire(import.meta.url);
const promClient = require.resolve('prom-client');
deferModule(createRequire(promClient).resolve('@opentelemetry/api'));
