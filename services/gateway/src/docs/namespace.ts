// Component names in the merged contract are namespaced by service (`catalog.Event`, `users.Problem`):
// two services may both define `Problem` or `Event`, differently. Every local reference to a component
// is rewritten to the namespaced name, including discriminator mappings (a $ref or a bare schema name).

const LOCAL_COMPONENT = /^#\/components\/([^/]+)\/([^/]+)/;

export function namespacedName(service: string, name: string): string {
  return `${service}.${name}`;
}

function rewriteRef(ref: string, service: string): string {
  return ref.replace(
    LOCAL_COMPONENT,
    (_m, kind: string, name: string) => `#/components/${kind}/${namespacedName(service, name)}`,
  );
}

/** A deep copy of `node` with every local component reference namespaced by `service`. */
export function namespaceRefs(node: unknown, service: string): unknown {
  if (Array.isArray(node)) return node.map((n) => namespaceRefs(n, service));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') out[key] = rewriteRef(value, service);
    else if (key === 'discriminator' && value && typeof value === 'object' && 'mapping' in value) {
      const { mapping, ...rest } = value as { mapping: Record<string, string> };
      out[key] = {
        ...rest,
        mapping: Object.fromEntries(
          Object.entries(mapping ?? {}).map(([tag, target]) => [
            tag,
            target.startsWith('#')
              ? rewriteRef(target, service)
              : `#/components/schemas/${namespacedName(service, target)}`,
          ]),
        ),
      };
    } else out[key] = namespaceRefs(value, service);
  }
  return out;
}
