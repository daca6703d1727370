/**
 * The Dockerfile read as data, and its stages replayed in folders on this machine (no Docker
 * engine runs here). Every instruction the replay meets is either carried out or refused by
 * name, so a step added to the Dockerfile that the replay cannot honour fails the test that
 * uses it instead of being skipped: the image and its emulation cannot drift apart.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';

export interface Instruction {
  readonly keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string | undefined;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

/** The instructions of a Dockerfile, grouped by stage (comments and line continuations removed). */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | undefined; image: string; instructions: Instruction[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = `${line.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    }
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: start + 1 };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = rest;
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form (JSON array) argument list, as CMD, ENTRYPOINT and HEALTHCHECK CMD take. */
function execForm(args: string, where: Instruction): string[] {
  if (!args.startsWith('[')) throw new Error(`Dockerfile line ${where.line}: use the exec (JSON) form`);
  return JSON.parse(args) as string[];
}

/** The final stage's command (ENTRYPOINT then CMD, exec form), as `docker run` starts it. */
export function imageCommand(stage: Stage): string[] {
  const last = (keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  const entrypoint = last('ENTRYPOINT');
  const cmd = last('CMD');
  return [
    ...(entrypoint ? execForm(entrypoint.args, entrypoint) : []),
    ...(cmd ? execForm(cmd.args, cmd) : []),
  ];
}

/** Patterns from .dockerignore; matched the way Docker matches them, from the context root. */
function ignoredBy(context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore');
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'))
    : [];
  if (patterns.some((pattern) => pattern.startsWith('!'))) {
    throw new Error('.dockerignore exceptions (!pattern) are not emulated');
  }
  // A pattern excludes what it matches and everything below it.
  return (path) => {
    const parts = path.split('/');
    return patterns.some((pattern) =>
      parts.some((_, i) => posix.matchesGlob(parts.slice(0, i + 1).join('/'), pattern)),
    );
  };
}

export interface ReplayOptions {
  /** The build context (the repository). */
  readonly context: string;
  /** Where the stages' file systems go: one folder per stage. */
  readonly workspace: string;
  /** Environment for RUN steps besides the stage's ENV (PATH, the npm cache…). */
  readonly env: Record<string, string>;
  /**
   * Where a `--mount=type=cache,target=…` points on this machine, by target. A RUN without a
   * cache mount gets a cache of its own, empty, as in a fresh image.
   */
  readonly caches: Record<string, string>;
  /** Each command as it runs (for a test's log). */
  readonly onCommand?: (stage: string, command: string) => void;
}

export interface ReplayedStage {
  readonly name: string | undefined;
  /** The stage's WORKDIR, on this machine. */
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly user: string | undefined;
  readonly healthcheck: string[] | undefined;
  readonly command: string[];
}

/** An npm, mkdir or chown failing here fails the replay, with the command's own output. */
export class ReplayError extends Error {}

function run(program: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new ReplayError(`${program} ${args.join(' ')} exited ${code}:\n${output.slice(-4_000)}`));
    });
  });
}

/**
 * Replays every stage of the Dockerfile: WORKDIR, ENV, COPY (from the context, honouring
 * .dockerignore, or --from an earlier stage) and RUN of `npm`, `mkdir -p` and `chown`. Any other
 * instruction or program throws, naming it.
 */
export async function replayDockerfile(dockerfile: string, options: ReplayOptions): Promise<ReplayedStage[]> {
  const stages = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const ignored = ignoredBy(options.context);
  const done: ReplayedStage[] = [];
  for (const [index, stage] of stages.entries()) {
    const root = join(options.workspace, `stage-${index}`);
    let workdir = '/';
    const env: Record<string, string> = {};
    let user: string | undefined;
    let healthcheck: string[] | undefined;
    const local = (path: string) => join(root, posix.resolve(workdir, path));
    const label = stage.name ?? `stage ${index}`;
    mkdirSync(root, { recursive: true });
    for (const instruction of stage.instructions) {
      const { keyword, args } = instruction;
      const fail = (why: string) =>
        new Error(
          `Dockerfile line ${instruction.line} (${keyword} ${args}): ${why}; teach test/support/dockerfile.ts`,
        );
      switch (keyword) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, args);
          mkdirSync(local('.'), { recursive: true });
          break;
        case 'ENV': {
          for (const pair of args.split(/\s+/)) {
            const eq = pair.indexOf('=');
            if (eq <= 0) throw fail('only ENV KEY=value is emulated');
            env[pair.slice(0, eq)] = pair.slice(eq + 1);
          }
          break;
        }
        case 'COPY': {
          const words = args.split(/\s+/);
          const flags = words.filter((word) => word.startsWith('--'));
          const paths = words.filter((word) => !word.startsWith('--'));
          const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
          if (flags.some((flag) => !flag.startsWith('--from='))) throw fail('only COPY --from is emulated');
          const target = paths.pop();
          if (!target || paths.length === 0) throw fail('COPY needs sources and a target');
          const sourceStage = from === undefined ? undefined : done.find((s) => s.name === from);
          if (from !== undefined && !sourceStage) throw fail(`no earlier stage named ${from}`);
          for (const source of paths) {
            const origin = sourceStage
              ? join(options.workspace, `stage-${done.indexOf(sourceStage)}`, source)
              : join(options.context, source);
            if (!existsSync(origin)) throw fail(`${source} does not exist`);
            const into = target.endsWith('/') ? join(local(target), posix.basename(source)) : local(target);
            mkdirSync(dirname(into), { recursive: true });
            cpSync(origin, into, {
              recursive: true,
              filter: (path) => sourceStage !== undefined || !ignored(relative(options.context, path)),
            });
          }
          break;
        }
        case 'RUN': {
          let command = args;
          const mounts: string[] = [];
          while (command.startsWith('--mount=')) {
            const [mount = '', ...rest] = command.split(/\s+/);
            mounts.push(mount.slice('--mount='.length));
            command = rest.join(' ');
          }
          const runEnv: NodeJS.ProcessEnv = { ...options.env, ...env };
          for (const mount of mounts) {
            const fields = Object.fromEntries(mount.split(',').map((field) => field.split('=')));
            const cache = fields.type === 'cache' ? options.caches[fields.target ?? ''] : undefined;
            if (!cache) throw fail(`mount ${mount} is not emulated`);
            if (fields.target === '/root/.npm') runEnv.npm_config_cache = cache;
          }
          if (!mounts.length) runEnv.npm_config_cache = join(root, '.npm-cache');
          for (const step of command.split('&&').map((part) => part.trim())) {
            if (/["'`$|;<>(){}\\]/.test(step)) throw fail(`shell syntax in "${step}" is not emulated`);
            const [program = '', ...words] = step.split(/\s+/);
            options.onCommand?.(label, step);
            if (program === 'npm') {
              await run('npm', words, local('.'), runEnv);
            } else if (program === 'mkdir' && words[0] === '-p') {
              for (const path of words.slice(1)) mkdirSync(local(path), { recursive: true });
            } else if (program === 'chown') {
              // Ownership needs root; the replay checks that the path exists and the owner is the image's user.
              const [owner = '', ...targets] = words;
              if (!/^[a-z_][\w-]*:[a-z_][\w-]*$/.test(owner)) throw fail(`chown ${owner} is not emulated`);
              for (const path of targets) if (!existsSync(local(path))) throw fail(`${path} does not exist`);
            } else {
              throw fail(`the program ${program} is not emulated`);
            }
          }
          break;
        }
        case 'USER':
          user = args;
          break;
        case 'HEALTHCHECK': {
          const at = args.indexOf('CMD ');
          if (at < 0) throw fail('HEALTHCHECK needs CMD');
          healthcheck = execForm(args.slice(at + 4).trim(), instruction);
          break;
        }
        case 'EXPOSE':
        case 'ENTRYPOINT':
        case 'CMD':
          break;
        default:
          throw fail('not emulated');
      }
    }
    done.push({
      name: stage.name,
      dir: local('.'),
      env,
      user,
      healthcheck,
      command: imageCommand(stage),
    });
  }
  return done;
}
