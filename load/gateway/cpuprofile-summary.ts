// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file/package, the
// busy (non-idle) CPU time, and — when the number of requests served is known — busy CPU per request.
// Usage: node load/gateway/cpuprofile-summary.ts <file.cpuprofile> [requests] [top]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Pseudo-frames that are not JavaScript work of the process. */
const IDLE = new Set(['(idle)', '(program)']);

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  gcMs: number;
  byFunction: Array<{ name: string; ms: number }>;
  byFile: Array<{ name: string; ms: number }>;
  /** Native frames (syscalls, string encoding) charged to the nearest JavaScript caller. */
  nativeByCaller: Array<{ name: string; ms: number }>;
}

/** Groups a script URL into something readable: a package name under node_modules, node: internals, or a repo path. */
export function fileGroup(url: string): string {
  if (!url) return '(native/builtin)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const services = url.indexOf('/services/');
  return services >= 0 ? url.slice(services + 1) : url.replace(/^file:\/\//, '');
}

/** Self time per function. `window` (µs on the profile's clock, which is CLOCK_MONOTONIC like
 *  process.hrtime) keeps only the samples taken inside it, e.g. the steady state after a warm-up. */
export function summarise(profile: CpuProfile, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = window?.fromUs ?? -Infinity;
  const to = window?.toUs ?? Infinity;
  let t = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  // timeDeltas[i] is the time before sample i; attributing it to sample i is what Chrome DevTools does.
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    t += delta;
    if (t < from || t > to) continue;
    first = Math.min(first, t - delta);
    last = Math.max(last, t);
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fn = new Map<string, number>();
  const native = new Map<string, number>();
  const file = new Map<string, number>();
  let busy = 0;
  let gc = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (IDLE.has(functionName)) continue;
    busy += us;
    if (functionName === '(garbage collector)') gc += us;
    const group = fileGroup(url);
    const key = `${functionName || '(anonymous)'} ${group}${url ? `:${lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    file.set(group, (file.get(group) ?? 0) + us);
    if (!url && functionName !== '(garbage collector)') {
      let caller = parent.get(id);
      while (caller !== undefined && !byId.get(caller)!.callFrame.url) caller = parent.get(caller);
      const cf = caller === undefined ? undefined : byId.get(caller)!.callFrame;
      const key2 = `${functionName} <- ${cf ? `${cf.functionName || '(anonymous)'} ${fileGroup(cf.url)}:${cf.lineNumber + 1}` : '(root)'}`;
      native.set(key2, (native.get(key2) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: last > first ? (last - first) / 1000 : 0,
    busyMs: busy / 1000,
    gcMs: gc / 1000,
    byFunction: sorted(fn),
    byFile: sorted(file),
    nativeByCaller: sorted(native),
  };
}

export function formatSummary(s: ProfileSummary, requests?: number, top = 25): string {
  const lines: string[] = [];
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)}%`;
  lines.push(
    `profile: ${s.totalMs.toFixed(0)} ms wall, ${s.busyMs.toFixed(0)} ms busy (${((100 * s.busyMs) / s.totalMs).toFixed(0)}%), GC ${s.gcMs.toFixed(0)} ms`,
  );
  if (requests)
    lines.push(`busy CPU per request: ${((s.busyMs * 1000) / requests).toFixed(1)} µs over ${requests} requests`);
  lines.push('self time by file/package:');
  for (const f of s.byFile.slice(0, top)) lines.push(`  ${f.ms.toFixed(0).padStart(7)} ms ${pct(f.ms)}  ${f.name}`);
  lines.push('self time by function:');
  for (const f of s.byFunction.slice(0, top)) lines.push(`  ${f.ms.toFixed(0).padStart(7)} ms ${pct(f.ms)}  ${f.name}`);
  lines.push('native self time by JavaScript caller:');
  for (const f of s.nativeByCaller.slice(0, Math.ceil(top / 2)))
    lines.push(`  ${f.ms.toFixed(0).padStart(7)} ms ${pct(f.ms)}  ${f.name}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const [file, requests, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node load/gateway/cpuprofile-summary.ts <file.cpuprofile> [requests] [top]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(formatSummary(summarise(profile), requests ? Number(requests) : undefined, top ? Number(top) : 25));
}
