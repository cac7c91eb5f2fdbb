import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { baseConfigSchema, databaseUrl, loadConfig, redisUrls, ConfigError, z } from '../src/config.ts';

const schema = baseConfigSchema.extend({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrls });

describe('platform/config', () => {
  it('parses valid values and applies defaults', () => {
    const cfg = loadConfig(schema, { DATABASE_URL: 'postgres://u:p@h:5432/db', REDIS_URL: 'redis://a:1, redis://b:2' });
    expect(cfg.PORT).to.equal(8080);
    expect(cfg.REDIS_URL).to.deep.equal(['redis://a:1', 'redis://b:2']);
  });

  it('rejects a bad value naming the variable', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgres://x/db', PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig(schema, { DATABASE_URL: 'mysql://x/db' })).to.throw(
      ConfigError,
      /DATABASE_URL: must be a postgres/,
    );
    expect(() => loadConfig(schema, { DATABASE_URL: 'postgres://x/db', REDIS_URL: 'http://nope' })).to.throw(
      ConfigError,
      /REDIS_URL/,
    );
  });

  it('reports a non-numeric number as invalid, not as missing', () => {
    try {
      loadConfig(schema, { DATABASE_URL: 'postgres://x/db', PORT: 'abc' });
      expect.fail('should throw');
    } catch (err) {
      const issue = (err as ConfigError).issues.find((i) => i.variable === 'PORT');
      expect(issue?.message).to.not.equal('is required');
      expect(issue?.message).to.match(/number/);
      expect(JSON.stringify((err as ConfigError).issues)).to.not.include('abc'); // values may be secrets
    }
  });

  it('reports a missing variable as required', () => {
    try {
      loadConfig(schema, {});
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).issues).to.deep.include({ variable: 'DATABASE_URL', message: 'is required' });
    }
  });

  it('stops the process with exit 1 and a message naming the variable', () => {
    const script = `import { loadConfigOrExit, z } from ${JSON.stringify(new URL('../src/config.ts', import.meta.url).pathname)};
      loadConfigOrExit(z.object({ MAX_SEATS: z.coerce.number().int().positive() }));
      console.log('started');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, MAX_SEATS: '-3' },
      encoding: 'utf8',
    });
    expect(r.status).to.equal(1);
    // Exactly one line per bad variable, the one loadConfig reports for the same schema, and never the value.
    let expected: ConfigError | undefined;
    try {
      loadConfig(z.object({ MAX_SEATS: z.coerce.number().int().positive() }), { MAX_SEATS: '-3' });
    } catch (err) {
      expected = err as ConfigError;
    }
    expect(expected?.issues).to.have.length(1);
    expect(r.stderr).to.equal(`config error: MAX_SEATS ${expected!.issues[0]!.message}\n`);
    expect(r.stderr).to.not.include('-3');
    expect(r.stdout).not.to.include('started');
  });
});
