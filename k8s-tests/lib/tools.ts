// The chart-checking tools (helm, kubeconform, go) at the versions pinned in k8s-tests/tools.env: where they
// are, how to run them, and the skip (a failure under CI) that names a missing one and how to install it.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipOrFail } from '@eventtickets/platform/testing';

export const K8S_TESTS_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** KEY=VALUE lines of tools.env (comments and blank lines ignored). */
function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(\S*)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const env = readEnvFile(join(K8S_TESTS_DIR, 'tools.env'));
function pin(key: string): string {
  const value = env[key];
  if (!value) throw new Error(`k8s-tests/tools.env has no ${key}`);
  return value;
}

export const pinned = {
  helm: pin('HELM_VERSION'),
  kubeconform: pin('KUBECONFORM_VERSION'),
  kubernetes: pin('KUBERNETES_VERSION'),
  prometheusOperator: pin('PROMETHEUS_OPERATOR_VERSION'),
  gatewayApi: pin('GATEWAY_API_VERSION'),
};

/** The Kubernetes version without its "v" (kubeconform's -kubernetes-version, helm's --kube-version). */
export const kubernetesVersion = pinned.kubernetes.replace(/^v/, '');

const installHint: Record<string, string> = {
  helm: `GOBIN=/opt/k8s-tools/bin go install helm.sh/helm/v3/cmd/helm@${pinned.helm}; .ci/run installs it`,
  kubeconform: `GOBIN=/opt/k8s-tools/bin go install github.com/yannh/kubeconform/cmd/kubeconform@${pinned.kubeconform}; .ci/run installs it`,
  go: 'Go 1.26 or newer (https://go.dev/dl, or the golang.org/toolchain module from the Go proxy); .ci/run installs it',
  kubectl: 'kubectl matching the cluster (https://kubernetes.io/docs/tasks/tools/)',
};

/** Directories searched after PATH: K8S_TOOLS_BIN, /opt/k8s-tools/bin (.ci/run), $GOBIN, ~/go/bin, Go's own. */
function extraDirs(): string[] {
  return [
    process.env.K8S_TOOLS_BIN,
    '/opt/k8s-tools/bin',
    process.env.GOBIN,
    process.env.GOPATH ? join(process.env.GOPATH.split(delimiter)[0], 'bin') : undefined,
    join(homedir(), 'go', 'bin'),
    '/usr/local/go/bin',
    '/opt/go/bin',
  ].filter((d): d is string => !!d);
}

/** The tool's path: K8S_TOOLS_BIN, then /opt/k8s-tools/bin (the pinned install wins over another on PATH), PATH, the rest. */
export function findTool(name: string): string | undefined {
  const dirs = [
    ...(process.env.K8S_TOOLS_BIN ? [process.env.K8S_TOOLS_BIN] : []),
    '/opt/k8s-tools/bin',
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    ...extraDirs(),
  ];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** The tool's path, or a skip naming it and how to install it (a failure when CI is set). */
export function requireTool(ctx: Mocha.Context, name: 'helm' | 'kubeconform' | 'go' | 'kubectl'): string {
  const path = findTool(name);
  if (!path) skipOrFail(ctx, `${name} not found (install: ${installHint[name]})`);
  return path!;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never through a shell); a non-zero exit is returned, not thrown. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: opts.cwd ?? REPO_ROOT,
        env: opts.env ?? process.env,
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 300_000,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err);
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like run, but a non-zero exit throws with the command and its output. */
export async function runOk(command: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(command, args, opts);
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${r.code}:\n${r.stderr.trim()}\n${r.stdout.trim()}`);
  return r.stdout;
}

/** The directory of a Go module downloaded through the Go module proxy (`go mod download -json`). */
export async function goModuleDir(go: string, module: string, version: string): Promise<string> {
  // outside any go.mod, so the repository's layout never matters
  const out = await runOk(go, ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (info.Error || !info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir'}`);
  return info.Dir;
}

/**
 * The module version a `go install`ed tool was built from (`go version -m` reads it from the binary; helm
 * and kubeconform built that way print no patch version of their own). Undefined when Go cannot tell.
 */
export async function builtVersion(go: string, path: string): Promise<string | undefined> {
  const r = await run(go, ['version', '-m', path]);
  const m = /^\s*mod\s+\S+\s+(v\S+)/m.exec(r.stdout);
  return r.code === 0 && m ? m[1] : undefined;
}
