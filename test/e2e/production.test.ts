/**
 * The production paths from a clean folder, end to end:
 * - the Docker image, stage by stage as the Dockerfile says (test/support/dockerfile.ts replays
 *   its instructions, so the two cannot drift apart): dev install and build, then a production
 *   install with the shipped dist/, started with the image's own command and health check;
 * - the same without Docker, as docs/operating.md writes it: build, ship, `npm ci --omit=dev
 *   --omit=optional`, `npm start`;
 * - `npm start` in a fresh clone, which builds exactly what `npm run build` builds.
 *
 * npm installs from the lockfile as it does anywhere: from its cache (prefer-offline), and from
 * the registry for anything missing. Without either, the test fails and says so.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayError, type ReplayedStage, replayDockerfile } from '../support/dockerfile.js';
import { lockedPackages, omittedInProduction, readLockfile } from '../support/lockfile.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';
import { ROOT } from './cli.js';

const INSTALL_MINUTES = 10;
/** npm's own cache: what `npm ci` in this checkout downloaded is reused, nothing else is. */
const npmCache = () => execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
const npmEnv = () => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  npm_config_prefer_offline: 'true',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
});

/** Turns npm's failure into what to check, instead of a bare exit code. */
function explain(error: unknown): never {
  if (error instanceof ReplayError) {
    throw new Error(
      `npm could not install from the lockfile. It needs its cache (${npmCache()}) or the npm registry: ` +
        `is https://registry.npmjs.org reachable from here?\n${error.message}`,
    );
  }
  throw error;
}

interface Running {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
  stop(): Promise<number | null>;
}

/** Starts `command` in `cwd` with a clean environment and waits for /readyz to answer 200. */
async function startAndWaitReady(
  program: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Running> {
  const port = await freePort();
  let output = '';
  const child = spawn(program, [...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RAG_DOTENV: 'off', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const base = `http://127.0.0.1:${port}`;
  const running: Running = {
    child,
    base,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`exited ${child.exitCode} before it was ready:\n${output}`);
        return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok;
      },
      `${program} ${args.join(' ')} to be ready`,
      90_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return running;
}

/** What a user sees first: the page, the widget script (the file the old pre-start forgot), an answer. */
async function expectWebChatServes(base: string): Promise<void> {
  expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({
    status: 'ready',
    platforms: { web: true },
  });
  const widget = await fetch(`${base}/widget.js`);
  expect(widget.status).toBe(200);
  expect(await widget.text()).toContain('rag-chat');
  expect(await (await fetch(`${base}/`)).text()).toContain('<html');
  const answer = await fetch(`${base}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'How do I add the bot to Slack?' }),
  });
  const events = (await answer.text()).trim().split('\n');
  expect(JSON.parse(events.at(-1) ?? '{}')).toMatchObject({ type: 'done' });
}

/**
 * A production install holds exactly the lockfile's production packages: none marked dev or
 * devOptional (TypeScript), every other one but those their dependent declared optional.
 */
function expectProductionPackagesOnly(dir: string): void {
  const lock = readLockfile(dir);
  const unexpected: string[] = [];
  const missing: string[] = [];
  for (const [path] of lockedPackages(lock)) {
    const installed = existsSync(join(dir, path, 'package.json'));
    const omitted = omittedInProduction(lock, path);
    if (omitted && installed) unexpected.push(path);
    if (!omitted && !installed) missing.push(path);
  }
  expect({ unexpected, missing }).toEqual({ unexpected: [], missing: [] });
  expect(existsSync(join(dir, 'node_modules/typescript'))).toBe(false);
}

/**
 * The commands the guides name for a server (`npm run ask`, `ingest`, `doctor`, `report`) run
 * the shipped dist/ where no dev dependency (tsx) is installed, instead of "tsx: not found".
 */
function expectCommandsRunCompiled(dir: string): void {
  const env = { ...npmEnv(), RAG_DOTENV: 'off', NO_COLOR: '1', RAG_DATA_DIR: join(dir, '.commands-data') };
  const npmRun = (...args: string[]) =>
    spawnSync('npm', ['run', '--silent', ...args], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  const ask = npmRun('ask', '--', 'How do I add the bot to Slack?');
  expect(ask.stderr).not.toContain('not found');
  expect(ask.stdout).toContain('Sources:');
  expect(ask.status).toBe(0);
  const ingest = npmRun('ingest', '--', 'knowledge/getting-started.md');
  expect(ingest.stdout).toMatch(/files\s+1/);
  expect(ingest.status).toBe(0);
  const doctor = npmRun('doctor');
  expect(doctor.stdout).toContain('Everything configured works.');
  expect(doctor.status).toBe(0);
  // The report's own answer on a server that has recorded nothing yet.
  const report = npmRun('report');
  expect(report.stderr).toContain('No answer records yet');
}

let workspace: string;
let build: ReplayedStage;
let runtime: ReplayedStage;

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'rag-production-'));
  const stages = await replayDockerfile(join(ROOT, 'Dockerfile'), {
    context: ROOT,
    workspace,
    env: npmEnv(),
    caches: { '/root/.npm': npmCache() },
  }).catch(explain);
  build = stages.find((stage) => stage.name === 'build')!;
  runtime = stages.at(-1)!;
}, INSTALL_MINUTES * 60_000);

afterAll(async () => {
  if (workspace) await rm(workspace, { recursive: true, force: true });
});

describe('the Docker image, replayed from the Dockerfile', () => {
  it('installs production dependencies only, with the web client built beside the compiled bot', () => {
    expect(build).toBeDefined();
    expectProductionPackagesOnly(runtime.dir);
    expect(existsSync(join(runtime.dir, 'dist/src/main.js'))).toBe(true);
    expect(existsSync(join(runtime.dir, 'dist/src/web/client/widget.js'))).toBe(true);
    expect(existsSync(join(runtime.dir, 'src'))).toBe(false);
    expect(runtime.user).toBe('node');
  });

  it('runs the commands (npm run ask, ingest, doctor, report) from the compiled bot', () => {
    expectCommandsRunCompiled(runtime.dir);
  }, 300_000);

  it('starts with the image command, serves the web chat, passes its health check and stops on SIGTERM', async () => {
    const [program, ...args] = runtime.command;
    expect(program).toBe('node');
    const bot = await startAndWaitReady(process.execPath, args, runtime.dir, {
      ...runtime.env,
      WEB_CHAT: 'true',
    });
    try {
      await expectWebChatServes(bot.base);
      const [checker = '', ...checkArgs] = runtime.healthcheck ?? [];
      expect(checker).toBe('node');
      const port = new URL(bot.base).port;
      const check = spawnSync(process.execPath, checkArgs, { env: { PORT: port }, timeout: 30_000 });
      expect(check.status).toBe(0);
    } finally {
      expect(await bot.stop()).toBe(0);
    }
  }, 120_000);
});

describe('the production install without Docker, as docs/operating.md describes it', () => {
  const guide = () => readFileSync(join(ROOT, 'docs/operating.md'), 'utf8');
  /** The files the guide ships from the build machine. */
  const SHIPPED = ['package.json', 'package-lock.json', 'dist', 'scripts', 'knowledge'];

  it('is written down with the commands this test runs', () => {
    expect(guide()).toContain('npm ci --omit=dev --omit=optional');
    expect(guide()).toContain(`tar -czf rag-chat-bot.tgz ${SHIPPED.join(' ')}`);
  });

  it('ships dist/, installs with --omit=dev --omit=optional and starts with npm start', async () => {
    const server = join(workspace, 'server');
    mkdirSync(server);
    // The build machine's tree: the build stage (sources, dev dependencies, dist/) plus what it ships besides.
    for (const name of SHIPPED) {
      cpSync(
        existsSync(join(build.dir, name)) ? join(build.dir, name) : join(ROOT, name),
        join(server, name),
        {
          recursive: true,
        },
      );
    }
    const install = (...omit: string[]) => {
      const result = spawnSync('npm', ['ci', ...omit], {
        cwd: server,
        env: { ...npmEnv(), npm_config_cache: npmCache() },
        encoding: 'utf8',
        timeout: INSTALL_MINUTES * 60_000,
      });
      if (result.status !== 0) explain(new ReplayError(result.stderr));
    };

    // The habitual --omit=dev keeps TypeScript (valibot's optional peer): still a production
    // install, started from the shipped build, with a note on how to leave TypeScript out.
    install('--omit=dev');
    expect(existsSync(join(server, 'node_modules/typescript'))).toBe(true);
    const habitual = await startAndWaitReady('npm', ['start'], server, { WEB_CHAT: 'true' });
    expect(habitual.output()).not.toContain('Building');
    expect(habitual.output()).toContain('--omit=dev --omit=optional leaves it out');
    expect(await habitual.stop()).toBe(0);

    install('--omit=dev', '--omit=optional');
    expectProductionPackagesOnly(server);
    expectCommandsRunCompiled(server);
    const bot = await startAndWaitReady('npm', ['start'], server, { WEB_CHAT: 'true' });
    try {
      await expectWebChatServes(bot.base);
      // The pre-start check found a production install and started the shipped build as it is.
      expect(bot.output()).not.toMatch(/Building|TypeScript/);
    } finally {
      expect(await bot.stop()).toBe(0);
    }
    // Two installs from the lockfile, two starts and four commands on two busy cores.
  }, 900_000);
});

describe('npm start in a fresh clone', () => {
  it('builds what npm run build builds (the web client too) before starting, and rebuilds when a source changes', async () => {
    const clone = join(workspace, 'clone');
    // The checkout's files as git knows them (a clone), with this checkout's installed dependencies.
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\0')
      .filter((file) => file && existsSync(join(ROOT, file)));
    for (const file of files) {
      mkdirSync(dirname(join(clone, file)), { recursive: true });
      cpSync(join(ROOT, file), join(clone, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    expect(existsSync(join(clone, 'dist'))).toBe(false);

    const env = { WEB_CHAT: 'true', RAG_DATA_DIR: join(workspace, 'clone-data') };
    const first = await startAndWaitReady('npm', ['start'], clone, env);
    try {
      await expectWebChatServes(first.base);
      expect(first.output()).toContain('Building the bot');
    } finally {
      expect(await first.stop()).toBe(0);
    }

    // Unchanged sources start at once; a changed one is rebuilt first.
    const unchanged = await startAndWaitReady('npm', ['start'], clone, env);
    expect(unchanged.output()).not.toContain('Building the bot');
    expect(await unchanged.stop()).toBe(0);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(clone, 'src/web/client/widget.js'), later, later);
    const changed = await startAndWaitReady('npm', ['start'], clone, env);
    try {
      expect(changed.output()).toContain('Building the bot');
    } finally {
      expect(await changed.stop()).toBe(0);
    }
  }, 240_000);
});
