// Module census: preloaded with `node --import load/footprint/census-hook.ts <entry>`, it records every module
// Node loads (ESM and CommonJS, through module.registerHooks) and, when FOOTPRINT_CENSUS_OUT is set, writes
// { modules, packages: { name: count } } there at exit (else prints the top packages on stderr).
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    if (!url.startsWith('node:')) loaded.add(url);
    return nextLoad(url, context);
  },
});

function packageOf(url: string): string {
  const i = url.lastIndexOf('/node_modules/');
  if (i < 0) {
    const m = /\/services\/([^/]+)\//.exec(url);
    return m ? `(services/${m[1]})` : '(other)';
  }
  const rest = url.slice(i + '/node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

export function census(): { modules: number; packages: Record<string, number>; urls?: string[] } {
  const packages: Record<string, number> = {};
  for (const url of loaded) packages[packageOf(url)] = (packages[packageOf(url)] ?? 0) + 1;
  // FOOTPRINT_CENSUS_URLS=1: every module's URL too (services/platform/test/module-footprint.test.ts)
  return { modules: loaded.size, packages, ...(process.env.FOOTPRINT_CENSUS_URLS ? { urls: [...loaded] } : {}) };
}

process.on('exit', () => {
  const c = census();
  const out = process.env.FOOTPRINT_CENSUS_OUT;
  if (out) writeFileSync(out, JSON.stringify(c));
  else {
    const top = Object.entries(c.packages)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([p, n]) => `${String(n).padStart(5)} ${p}`);
    process.stderr.write(`modules loaded: ${c.modules}\n${top.join('\n')}\n`);
  }
});
