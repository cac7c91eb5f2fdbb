// Rendering a chart (helm template), reading the rendered objects, and validating them with kubeconform
// against the offline schemas (schemas.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { SchemaSet } from './schemas.ts';
import { kubernetesVersion, run, runOk } from './tools.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: any;
  [key: string]: any;
  /** The template it came from ("# Source:" line of helm template), for messages. */
  source?: string;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: string[];
  /** extra API versions the cluster is said to serve (--api-versions), e.g. monitoring.coreos.com/v1 */
  apiVersions?: string[];
}

export const RELEASE = 'et';
export const NAMESPACE = 'eventtickets';

export function templateArgs(chartDir: string, opts: RenderOptions = {}): string[] {
  return [
    'template',
    opts.release ?? RELEASE,
    chartDir,
    '--namespace',
    opts.namespace ?? NAMESPACE,
    '--kube-version',
    kubernetesVersion,
    ...(opts.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
    ...(opts.valuesFiles ?? []).flatMap((f) => ['--values', f]),
    ...(opts.set ?? []).flatMap((s) => ['--set', s]),
  ];
}

/** helm template's output (throws with helm's message when rendering fails). */
export function helmTemplate(helm: string, chartDir: string, opts: RenderOptions = {}): Promise<string> {
  return runOk(helm, templateArgs(chartDir, opts));
}

/** Every object of a multi-document YAML stream (empty documents skipped; duplicate keys and syntax errors throw). */
export function parseManifests(text: string, defaultNamespace = NAMESPACE): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    const comments = `${doc.commentBefore ?? ''}\n${(doc.contents as { commentBefore?: string } | null)?.commentBefore ?? ''}`;
    const source = /Source: (\S+)/.exec(comments)?.[1];
    if (doc.errors.length) throw new Error(`${source ?? 'manifest'}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj === null || obj === undefined) continue;
    if (typeof obj !== 'object' || !obj.kind || !obj.apiVersion || !obj.metadata?.name)
      throw new Error(`${source ?? 'manifest'}: a document without apiVersion, kind and metadata.name`);
    obj.metadata.namespace ??= defaultNamespace;
    if (source) Object.defineProperty(obj, 'source', { value: source, enumerable: false });
    out.push(obj);
  }
  return out;
}

export const describeObject = (o: K8sObject) => `${o.kind}/${o.metadata.name}${o.source ? ` (${o.source})` : ''}`;

export interface SchemaProblem {
  object: string;
  message: string;
}

/**
 * kubeconform -strict over the rendered text with the offline schemas only: a kind without a schema is a
 * problem too (no -ignore-missing-schemas), except the kinds in skip (each with its reason, shown by callers).
 */
export async function kubeconform(
  binary: string,
  schemas: SchemaSet,
  text: string,
  skip: string[] = [],
): Promise<{ checked: number; problems: SchemaProblem[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'et-kubeconform-'));
  try {
    const file = join(dir, 'manifests.yaml');
    writeFileSync(file, text);
    const r = await run(binary, [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-kubernetes-version',
      kubernetesVersion,
      '-schema-location',
      schemas.location,
      ...(skip.length ? ['-skip', skip.join(',')] : []),
      file,
    ]);
    let report: { resources?: { kind: string; name: string; status: string; msg: string }[]; summary?: any };
    try {
      report = JSON.parse(r.stdout);
    } catch {
      throw new Error(`kubeconform exited with ${r.code} without a JSON report: ${r.stderr}${r.stdout}`);
    }
    const problems = (report.resources ?? [])
      .filter((res) => res.status !== 'statusValid' && res.status !== 'statusSkipped')
      .map((res) => ({ object: `${res.kind}/${res.name}`, message: res.msg }));
    if (r.code !== 0 && problems.length === 0)
      problems.push({ object: '(kubeconform)', message: `exited with ${r.code}: ${r.stderr}` });
    const s = report.summary ?? {};
    return { checked: (s.valid ?? 0) + (s.invalid ?? 0) + (s.errors ?? 0), problems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
