/**
 * lpf-server's settings: each one from its command-line flag, else its environment variable
 * (LPF_ + the flag's name in capitals, "-" as "_"), else the configuration file, else its default.
 *
 * The configuration file is TOML; its keys are the long flag names (`port = 20215`,
 * `no-register = true`, `quota = "5G"`). It is `--config FILE` (or LPF_CONFIG), else
 * ROOT/lpf-server.toml when that exists, ROOT then coming from --root, LPF_ROOT or ./lpf-data only
 * (a file found inside ROOT cannot move ROOT). Paths in a file are relative to the file's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { LpfError } from '../errors.js';

/** Every server flag that may also come from the environment or the configuration file. */
export const SETTING_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  root: { type: 'string' },
  accounts: { type: 'string' },
  'log-level': { type: 'string' },
  'no-register': { type: 'boolean' },
  cert: { type: 'string' },
  key: { type: 'string' },
  plain: { type: 'boolean' },
  'web-port': { type: 'string' },
  'no-web': { type: 'boolean' },
  'max-connections': { type: 'string' },
  'max-per-address': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'login-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-file-size': { type: 'string' },
  quota: { type: 'string' },
  'min-password': { type: 'string' },
  'register-limit': { type: 'string' },
  'login-free-attempts': { type: 'string' },
  'login-delay': { type: 'string' },
  grace: { type: 'string' },
  'partial-ttl': { type: 'string' },
  'session-ttl': { type: 'string' },
  'health-port': { type: 'string' },
  'health-host': { type: 'string' },
  'proxy-protocol': { type: 'string' },
  storage: { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-region': { type: 'string' },
  's3-path-style': { type: 'boolean' },
} as const;

export type SettingName = keyof typeof SETTING_FLAGS;

/** Settings in the file that name paths, resolved against the file's folder. */
const PATH_SETTINGS: ReadonlySet<SettingName> = new Set(['root', 'cert', 'key']);

export const DEFAULT_ROOT = 'lpf-data';
export const CONFIG_IN_ROOT = 'lpf-server.toml';

/** A value with where it came from, to name in errors: `--port`, `LPF_PORT` or `port in FILE`. */
export interface Setting<T> {
  value: T;
  what: string;
}

export class ServerSettings {
  readonly #flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly #env: NodeJS.ProcessEnv;
  readonly #file: ConfigFile | undefined;

  constructor(flags: Readonly<Record<string, string | boolean | undefined>>, env: NodeJS.ProcessEnv, file: ConfigFile | undefined) {
    this.#flags = flags;
    this.#env = env;
    this.#file = file;
  }

  /** The configuration file in use, if any. */
  get configPath(): string | undefined {
    return this.#file?.path;
  }

  /** The text of a string setting, or undefined when nothing sets it. */
  text(name: SettingName): Setting<string> | undefined {
    const flag = this.#flags[name];
    if (typeof flag === 'string') return { value: flag, what: `--${name}` };
    const variable = envName(name);
    const env = this.#env[variable];
    if (env !== undefined && env !== '') return { value: env, what: variable };
    return this.#file?.values.get(name) as Setting<string> | undefined;
  }

  /** A switch: on with its flag, else as its variable says (1 or 0), else as the file says. */
  on(name: SettingName): boolean {
    if (this.#flags[name] === true) return true;
    const variable = envName(name);
    const env = this.#env[variable];
    if (env !== undefined && env !== '') {
      if (env === '1' || env === 'true') return true;
      if (env === '0' || env === 'false') return false;
      throw new LpfError('LPF_ERR_USAGE', `${variable}: "${env}" is not 1 or 0`);
    }
    return (this.#file?.values.get(name)?.value as boolean | undefined) ?? false;
  }
}

export function envName(name: string): string {
  return `LPF_${name.toUpperCase().replace(/-/g, '_')}`;
}

export interface ConfigFile {
  path: string;
  values: Map<SettingName, Setting<string | boolean>>;
}

/**
 * Finds and reads the configuration file, and settles ROOT. `configFlag` is --config's value.
 * An explicit file must exist; ROOT/lpf-server.toml is read only if it does.
 */
export async function loadSettings(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: NodeJS.ProcessEnv,
): Promise<{ settings: ServerSettings; root: string }> {
  const explicit = typeof flags.config === 'string' ? flags.config : env.LPF_CONFIG || undefined;
  if (explicit !== undefined) {
    const file = await readConfigFile(resolve(explicit), true);
    const settings = new ServerSettings(flags, env, file);
    return { settings, root: resolve(settings.text('root')?.value ?? DEFAULT_ROOT) };
  }
  const early = new ServerSettings(flags, env, undefined);
  const root = resolve(early.text('root')?.value ?? DEFAULT_ROOT);
  const file = await readConfigFile(join(root, CONFIG_IN_ROOT), false);
  if (file?.values.has('root')) {
    throw new LpfError(
      'LPF_ERR_USAGE',
      `${file.path}: key "root" cannot be set in a file inside the data folder; use --config FILE to move the data folder`,
    );
  }
  return { settings: new ServerSettings(flags, env, file), root };
}

/** Reads and checks a configuration file; undefined when it is optional and absent. */
export async function readConfigFile(path: string, required: boolean): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    throw new LpfError('LPF_ERR_USAGE', `cannot read the configuration file ${path}: ${code ?? (err as Error).message}`);
  }
  return { path, values: parseConfig(text, path) };
}

/** Parses the TOML text of a configuration file; `path` is for messages and relative paths. */
export function parseConfig(text: string, path: string): Map<SettingName, Setting<string | boolean>> {
  let table: Record<string, unknown>;
  try {
    table = parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '');
    throw new LpfError('LPF_ERR_USAGE', `${path}:${err.line}:${err.column}: not valid TOML: ${reason}`);
  }
  const values = new Map<SettingName, Setting<string | boolean>>();
  for (const [key, value] of Object.entries(table)) {
    if (!Object.hasOwn(SETTING_FLAGS, key)) {
      throw new LpfError(
        'LPF_ERR_USAGE',
        `${path}: unknown key "${key}" (the keys are lpf-server's long flag names; see lpf-server --help)`,
      );
    }
    const name = key as SettingName;
    const what = `${key} in ${path}`;
    if (SETTING_FLAGS[name].type === 'boolean') {
      if (typeof value !== 'boolean') throw new LpfError('LPF_ERR_USAGE', `${what}: must be true or false`);
      values.set(name, { value, what });
    } else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      const text = String(value);
      values.set(name, { value: PATH_SETTINGS.has(name) ? resolve(dirname(path), text) : text, what });
    } else {
      throw new LpfError('LPF_ERR_USAGE', `${what}: must be a string or a number`);
    }
  }
  return values;
}

/**
 * The accounts database URL of the `accounts` setting (postgres://USER@HOST:PORT/DB), checked; undefined
 * when unset (accounts then live in ROOT/users.txt). Parts it leaves out come from the PG* variables; a
 * password never comes from it (flags show in process listings): PGPASSWORD or ~/.pgpass.
 */
export function accountsUrl(settings: ServerSettings): Setting<string> | undefined {
  const setting = settings.text('accounts');
  if (!setting) return undefined;
  let url: URL;
  try {
    url = new URL(setting.value);
  } catch {
    throw new LpfError('LPF_ERR_USAGE', `${setting.what}: "${setting.value}" is not a URL; expected postgres://USER@HOST:PORT/DATABASE`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new LpfError(
      'LPF_ERR_USAGE',
      `${setting.what}: expected a postgres:// URL (postgres://USER@HOST:PORT/DATABASE), not ${url.protocol}//`,
    );
  }
  if (url.password !== '') {
    throw new LpfError('LPF_ERR_USAGE', `${setting.what}: put no password in the URL; give it in PGPASSWORD or ~/.pgpass`);
  }
  return setting;
}

/** A start-up failure to reach or prepare the accounts database, naming the setting and the cause. */
export function accountsFailure(setting: Setting<string>, err: unknown): LpfError {
  let cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  // Connecting to "localhost" tries each address: the reasons are inside an AggregateError.
  if (cause instanceof AggregateError && cause.message === '' && cause.errors[0] instanceof Error) cause = cause.errors[0];
  const why = cause instanceof Error ? cause.message || cause.name : String(cause);
  return new LpfError('LPF_ERR_SERVER', `${setting.what}: cannot use the accounts database at ${setting.value}: ${why}`, { cause: err });
}
