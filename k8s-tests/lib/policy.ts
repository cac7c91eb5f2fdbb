// Policy checks over rendered objects: what the schemas cannot say. Each finding names its rule, the object
// and what is wrong; checkPolicies returns them all (an empty list means the manifests pass).
import { describeObject, type K8sObject } from './manifests.ts';

export const RULES = {
  probes: 'long-running containers have a liveness and a readiness probe',
  'probe-port': 'a probe on a named port names a port of its container',
  resources: 'every container requests cpu and memory and limits memory',
  'run-as-non-root': 'every container runs with runAsNonRoot: true and not as uid 0',
  'read-only-root-fs': 'every container has readOnlyRootFilesystem: true',
  capabilities: 'every container drops ALL capabilities and adds none',
  'privilege-escalation': 'allowPrivilegeEscalation: false, never privileged, no host namespaces',
  seccomp: 'every container runs with a RuntimeDefault (or Localhost) seccomp profile',
  'image-tag': 'every image is pinned by a tag other than latest, or by digest',
  pdb: 'a PodDisruptionBudget covers every workload with more than one replica or an HPA, and lets a pod go',
  'hpa-target': 'every HPA scales a workload of the release',
  'default-deny': 'every pod is under a default-deny NetworkPolicy for ingress and egress',
  'network-policy': 'every pod is selected by a NetworkPolicy that allows its own paths',
  'np-peers': 'every podSelector peer of a NetworkPolicy (in the release namespace) selects some pod',
  selector: 'selectors (workload, Service, PDB, NetworkPolicy) match pod labels',
  'service-ports': 'every Service port targets a port (named or numbered) of every pod it selects',
  references: 'Ingress, HTTPRoute and ServiceMonitor name Services and ports that exist',
  labels: 'app.kubernetes.io/name, /instance and /managed-by on every object; name and instance on pods',
  'rolling-update': 'Deployments roll with maxUnavailable 0',
} as const;
export type Rule = keyof typeof RULES;

export interface Finding {
  rule: Rule;
  object: string;
  message: string;
}

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label selector semantics; an empty selector matches everything. */
export function selects(selector: Selector | undefined | null, labels: Labels | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== String(v)) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const values = (e.values ?? []).map(String);
    if (e.operator === 'In' && !(has && values.includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && values.includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const isEmptySelector = (s: Selector | undefined) =>
  !!s && !Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length;

export interface PodTemplate {
  owner: K8sObject;
  namespace: string;
  labels: Labels;
  spec: any;
  /** Deployment, StatefulSet, DaemonSet: containers run until stopped (probes apply) */
  longRunning: boolean;
}

/** The pod template of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). */
export function podTemplateOf(o: K8sObject): PodTemplate | undefined {
  const ns = o.metadata.namespace ?? '';
  const longRunning = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(o.kind);
  if (o.kind === 'Pod') return { owner: o, namespace: ns, labels: o.metadata.labels ?? {}, spec: o.spec, longRunning };
  const t =
    o.kind === 'CronJob'
      ? o.spec?.jobTemplate?.spec?.template
      : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)
        ? o.spec?.template
        : undefined;
  return t ? { owner: o, namespace: ns, labels: t.metadata?.labels ?? {}, spec: t.spec ?? {}, longRunning } : undefined;
}

/** Tag of an image reference ("" when none), and whether it is pinned by digest. */
export function imageTag(image: string): { tag: string; digest: boolean } {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return { tag: colon > lastSlash ? name.slice(colon + 1) : '', digest: at >= 0 };
}

export function checkPolicies(objects: K8sObject[]): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: Rule, o: K8sObject, message: string) =>
    findings.push({ rule, object: describeObject(o), message });
  const pods = objects.map(podTemplateOf).filter((p): p is PodTemplate => !!p);
  const inNs = (ns: string) => (p: PodTemplate) => p.namespace === ns;
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);

  // --- containers
  for (const p of pods) {
    const podSc = p.spec.securityContext ?? {};
    const containers: any[] = p.spec.containers ?? [];
    const inits: any[] = p.spec.initContainers ?? [];
    for (const flag of ['hostNetwork', 'hostPID', 'hostIPC'])
      if (p.spec[flag] === true) add('privilege-escalation', p.owner, `${flag}: true`);
    for (const c of [...inits.map((c) => ({ c, init: true })), ...containers.map((c) => ({ c, init: false }))]) {
      const { c: ctr, init } = c;
      const who = `${init ? 'init container' : 'container'} ${ctr.name}`;
      const sc = ctr.securityContext ?? {};
      if (p.longRunning && !init) {
        if (!ctr.livenessProbe) add('probes', p.owner, `${who} has no livenessProbe`);
        if (!ctr.readinessProbe) add('probes', p.owner, `${who} has no readinessProbe`);
      }
      const portNames = new Set((ctr.ports ?? []).map((port: any) => port.name).filter(Boolean));
      for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const probe = ctr[kind];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
        if (typeof port === 'string' && !portNames.has(port))
          add('probe-port', p.owner, `${who}: ${kind} uses port "${port}", which the container does not declare`);
      }
      const r = ctr.resources ?? {};
      for (const [k, v] of [
        ['requests.cpu', r.requests?.cpu],
        ['requests.memory', r.requests?.memory],
        ['limits.memory', r.limits?.memory],
      ])
        if (v === undefined || v === null || v === '') add('resources', p.owner, `${who} has no resources.${k}`);
      const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      const uid = sc.runAsUser ?? podSc.runAsUser;
      if (nonRoot !== true) add('run-as-non-root', p.owner, `${who}: runAsNonRoot is not true`);
      if (uid === 0) add('run-as-non-root', p.owner, `${who}: runAsUser is 0`);
      if (sc.readOnlyRootFilesystem !== true)
        add('read-only-root-fs', p.owner, `${who}: readOnlyRootFilesystem is not true`);
      const drop: string[] = sc.capabilities?.drop ?? [];
      if (!drop.includes('ALL')) add('capabilities', p.owner, `${who}: capabilities.drop does not include ALL`);
      if ((sc.capabilities?.add ?? []).length)
        add('capabilities', p.owner, `${who}: adds capabilities ${sc.capabilities.add.join(', ')}`);
      if (sc.allowPrivilegeEscalation !== false)
        add('privilege-escalation', p.owner, `${who}: allowPrivilegeEscalation is not false`);
      if (sc.privileged === true) add('privilege-escalation', p.owner, `${who}: privileged`);
      const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
        add('seccomp', p.owner, `${who}: seccompProfile.type is ${seccomp ?? 'unset'}, not RuntimeDefault`);
      const image = String(ctr.image ?? '');
      const { tag, digest } = imageTag(image);
      if (!image) add('image-tag', p.owner, `${who} has no image`);
      else if (!digest && (!tag || tag === 'latest'))
        add('image-tag', p.owner, `${who}: image "${image}" is ${tag ? 'tagged latest' : 'untagged'}`);
    }
  }

  // --- workload selectors, rolling updates, HPAs and PDBs
  const hpas = ofKind('HorizontalPodAutoscaler');
  for (const h of hpas) {
    const ref = h.spec?.scaleTargetRef ?? {};
    if (!objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name))
      add('hpa-target', h, `scales ${ref.kind}/${ref.name}, which the release does not have`);
  }
  const pdbs = ofKind('PodDisruptionBudget');
  for (const p of pods) {
    const o = p.owner;
    if (o.spec?.selector && !['Job', 'CronJob'].includes(o.kind) && !selects(o.spec.selector, p.labels))
      add('selector', o, `spec.selector does not match the pod template labels`);
    if (o.kind === 'Deployment') {
      const s = o.spec?.strategy;
      if (s?.type === 'Recreate' || String(s?.rollingUpdate?.maxUnavailable ?? '25%') !== '0')
        add('rolling-update', o, `strategy is not RollingUpdate with maxUnavailable 0`);
    }
    if (!['Deployment', 'StatefulSet'].includes(o.kind)) continue;
    const hpa = hpas.find(
      (h) => h.spec?.scaleTargetRef?.kind === o.kind && h.spec?.scaleTargetRef?.name === o.metadata.name,
    );
    const replicas = hpa ? (hpa.spec?.minReplicas ?? 1) : (o.spec?.replicas ?? 1);
    if (replicas <= 1 && !hpa) continue;
    const pdb = pdbs.find((b) => b.metadata.namespace === p.namespace && selects(b.spec?.selector, p.labels));
    if (!pdb) {
      add('pdb', o, `${hpa ? 'has an HPA' : `runs ${replicas} replicas`} and no PodDisruptionBudget selects its pods`);
      continue;
    }
    const min = pdb.spec?.minAvailable;
    const maxUn = pdb.spec?.maxUnavailable;
    if ((typeof min === 'number' && min >= replicas) || min === '100%' || maxUn === 0 || maxUn === '0%')
      add('pdb', o, `PodDisruptionBudget ${pdb.metadata.name} never lets one of its ${replicas} pods go`);
  }
  for (const b of pdbs)
    if (!pods.filter(inNs(b.metadata.namespace ?? '')).some((p) => selects(b.spec?.selector, p.labels)))
      add('selector', b, `its selector matches no pod of the release`);

  // --- NetworkPolicies
  const nps = ofKind('NetworkPolicy');
  const types = (np: K8sObject): string[] =>
    np.spec?.policyTypes ?? (np.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress']);
  const deniesIngress = (np: K8sObject) => types(np).includes('Ingress') && !(np.spec?.ingress ?? []).length;
  const deniesEgress = (np: K8sObject) => types(np).includes('Egress') && !(np.spec?.egress ?? []).length;
  for (const p of pods) {
    const mine = nps.filter((np) => np.metadata.namespace === p.namespace && selects(np.spec?.podSelector, p.labels));
    if (!mine.some(deniesIngress) || !mine.some(deniesEgress))
      add(
        'default-deny',
        p.owner,
        `its pods are not under a default deny for ${[!mine.some(deniesIngress) && 'ingress', !mine.some(deniesEgress) && 'egress'].filter(Boolean).join(' and ')}`,
      );
    if (!mine.some((np) => (np.spec?.ingress ?? []).length || (np.spec?.egress ?? []).length))
      add('network-policy', p.owner, `no NetworkPolicy with allow rules selects its pods`);
  }
  for (const np of nps) {
    const ns = np.metadata.namespace ?? '';
    if (
      !isEmptySelector(np.spec?.podSelector) &&
      !pods.filter(inNs(ns)).some((p) => selects(np.spec?.podSelector, p.labels))
    )
      add('selector', np, `spec.podSelector matches no pod of the release`);
    const peers = [
      ...(np.spec?.ingress ?? []).flatMap((r: any) => (r.from ?? []).map((peer: any) => ['from', peer])),
      ...(np.spec?.egress ?? []).flatMap((r: any) => (r.to ?? []).map((peer: any) => ['to', peer])),
    ] as [string, any][];
    for (const [dir, peer] of peers) {
      if (!peer.podSelector || peer.namespaceSelector || isEmptySelector(peer.podSelector)) continue;
      if (!pods.filter(inNs(ns)).some((p) => selects(peer.podSelector, p.labels)))
        add('np-peers', np, `${dir} podSelector ${JSON.stringify(peer.podSelector)} matches no pod of the release`);
    }
  }

  // --- Services and what refers to them
  const services = ofKind('Service');
  for (const svc of services) {
    const sel = svc.spec?.selector;
    if (!sel || !Object.keys(sel).length) continue;
    const selected = pods
      .filter(inNs(svc.metadata.namespace ?? ''))
      .filter((p) => selects({ matchLabels: sel }, p.labels));
    if (!selected.length) {
      add('selector', svc, `its selector ${JSON.stringify(sel)} matches no pod of the release`);
      continue;
    }
    for (const port of svc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const p of selected) {
        const ports = (p.spec.containers ?? []).flatMap((c: any) => c.ports ?? []);
        const found = ports.some((cp: any) =>
          typeof target === 'string' ? cp.name === target : cp.containerPort === target,
        );
        if (!found)
          add(
            'service-ports',
            svc,
            `port ${port.name ?? port.port} targets ${JSON.stringify(target)}, which ${describeObject(p.owner)} does not declare`,
          );
      }
    }
  }
  const serviceNamed = (ns: string | undefined, name: string) =>
    services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
  const hasPort = (svc: K8sObject, port: { name?: string; number?: number } | number | string) =>
    (svc.spec?.ports ?? []).some((sp: any) =>
      typeof port === 'object'
        ? port.name
          ? sp.name === port.name
          : sp.port === port.number
        : typeof port === 'string'
          ? sp.name === port
          : sp.port === port,
    );
  for (const ing of ofKind('Ingress')) {
    const backends = [
      ing.spec?.defaultBackend,
      ...(ing.spec?.rules ?? []).flatMap((r: any) => (r.http?.paths ?? []).map((p: any) => p.backend)),
    ].filter((b) => b?.service);
    for (const b of backends) {
      const svc = serviceNamed(ing.metadata.namespace, b.service.name);
      if (!svc) add('references', ing, `backend Service ${b.service.name} does not exist`);
      else if (!hasPort(svc, b.service.port ?? {}))
        add('references', ing, `Service ${b.service.name} has no port ${JSON.stringify(b.service.port)}`);
    }
  }
  for (const route of ofKind('HTTPRoute')) {
    for (const ref of (route.spec?.rules ?? []).flatMap((r: any) => r.backendRefs ?? [])) {
      if ((ref.kind ?? 'Service') !== 'Service' || (ref.group ?? '') !== '') continue;
      const svc = serviceNamed(ref.namespace ?? route.metadata.namespace, ref.name);
      if (!svc) add('references', route, `backendRef Service ${ref.name} does not exist`);
      else if (!hasPort(svc, Number(ref.port))) add('references', route, `Service ${ref.name} has no port ${ref.port}`);
    }
  }
  for (const sm of ofKind('ServiceMonitor')) {
    const namespaces: string[] = sm.spec?.namespaceSelector?.matchNames ?? [sm.metadata.namespace];
    const targets = services.filter(
      (s) => namespaces.includes(s.metadata.namespace ?? '') && selects(sm.spec?.selector, s.metadata.labels),
    );
    if (!targets.length) add('references', sm, `its selector matches no Service`);
    for (const ep of sm.spec?.endpoints ?? [])
      for (const svc of targets)
        if (ep.port && !hasPort(svc, ep.port))
          add('references', sm, `Service ${svc.metadata.name} has no port named ${ep.port}`);
  }

  // --- labels
  for (const o of objects) {
    const l = o.metadata.labels ?? {};
    const missing = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by'].filter(
      (k) => !l[k],
    );
    if (missing.length) add('labels', o, `no ${missing.join(', ')} label`);
  }
  for (const p of pods) {
    if (p.owner.kind === 'Pod') continue;
    const missing = ['app.kubernetes.io/name', 'app.kubernetes.io/instance'].filter((k) => !p.labels[k]);
    if (missing.length) add('labels', p.owner, `pod template has no ${missing.join(', ')} label`);
  }
  return findings;
}

/** Findings as lines for an assertion message. */
export const formatFindings = (fs: Finding[]) => fs.map((f) => `  [${f.rule}] ${f.object}: ${f.message}`).join('\n');
