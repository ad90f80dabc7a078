import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG_FILE, configFileFrom, loadConfig } from '../src/config/load.js';
import { mappingDirectory } from '../src/config/schema.js';
import { ROOT, runCli, tempDir } from './helpers.js';

function problemsOf(yamlText: string) {
  const file = join(tempDir(), 'bad.yaml');
  writeFileSync(file, yamlText);
  try {
    loadConfig(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a configuration error');
}

const defaultText = () => readFileSync(DEFAULT_CONFIG_FILE, 'utf8');

describe('configuration', () => {
  it('loads the embedded default with absolute paths relative to the config file', () => {
    const cfg = loadConfig(DEFAULT_CONFIG_FILE);
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(cfg.storage.dataDir).toBe(join(ROOT, 'data'));
    expect(mappingDirectory(cfg)).toBe(join(ROOT, 'config/sample'));
    expect(cfg.indicators.reportingYear).toBe(2023);
  });

  it('picks --config over KIKV_CONFIG over the default', () => {
    expect(configFileFrom('/x/a.yaml', { KIKV_CONFIG: '/y/b.yaml' })).toBe('/x/a.yaml');
    expect(configFileFrom(undefined, { KIKV_CONFIG: '/y/b.yaml' })).toBe('/y/b.yaml');
    expect(configFileFrom(undefined, {})).toBe(DEFAULT_CONFIG_FILE);
  });

  it('names a wrongly typed key by its path, with what was found and what is expected', () => {
    const problems = problemsOf(defaultText().replace('port: 8080', 'port: "eighty"'));
    expect(problems).toContainEqual({ path: 'server.port', found: '"eighty" (string)', expected: 'a value of type integer' });
  });

  it('names unknown keys and suggests the intended one', () => {
    const problems = problemsOf(defaultText().replace('  host: 127.0.0.1', '  hots: 127.0.0.1'));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['server.hots', 'server.host']));
    expect(problems.find((p) => p.path === 'server.hots')?.expected).toContain('did you mean "host"?');
  });

  it('reports bad values inside lists by index, and values out of range', () => {
    const problems = problemsOf(defaultText().replace('version: 2023.1.0', 'version: "latest"').replace('maxAttempts: 8', 'maxAttempts: 0'));
    expect(problems).toContainEqual(expect.objectContaining({ path: 'indicators.profiles[0].version', found: '"latest" (string)' }));
    expect(problems).toContainEqual(expect.objectContaining({ path: 'delivery.retry.maxAttempts', expected: 'a number >= 1' }));
  });

  it('a bad configuration exits 2 from the CLI, names the key, and touches no state', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'state');
    const file = join(dir, 'kikv.yaml');
    writeFileSync(file, defaultText().replace('dataDir: ../data', `dataDir: ${dataDir}`).replace('mode: standalone', 'mode: nuts-v7'));
    const r = await runCli(['answers', 'list', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('trust.mode: found "nuts-v7" (string); expected one of "standalone"');
    expect(existsSync(dataDir)).toBe(false);
    // The same through KIKV_CONFIG.
    const viaEnv = await runCli(['serve'], { KIKV_CONFIG: file });
    expect(viaEnv.code).toBe(2);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('an unreadable or malformed file is a configuration error too', async () => {
    const r = await runCli(['answers', 'list', '--config', '/nonexistent/kikv.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ENOENT');
    expect(problemsOf('server: [unclosed')[0]?.found).toContain('invalid YAML');
  });
});
