// Validity checks for OpenAPI documents in tests: a real validator, and references that must resolve.
import { OpenAPIBackend } from 'openapi-backend';

/** Every error of openapi-backend's validateDefinition (the OpenAPI 3.0 JSON schema of openapi-schema-validator), as text; '' when valid. */
export async function openApiErrors(document: unknown): Promise<string> {
  const api = new OpenAPIBackend({ definition: structuredClone(document) as any, strict: true });
  await api.loadDocument();
  try {
    api.validateDefinition();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Local $refs (and discriminator mappings) that point at nothing in the document. */
export function danglingRefs(document: any): string[] {
  const resolves = (ref: string) => {
    let node = document;
    for (const raw of ref.replace(/^#\//, '').split('/')) {
      node = node?.[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (node === undefined) return false;
    }
    return true;
  };
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && !resolves(value)) out.push(value);
      if (key === 'mapping' && value && typeof value === 'object')
        for (const ref of Object.values(value)) if (typeof ref === 'string' && !resolves(ref)) out.push(ref);
      walk(value);
    }
  };
  walk(document);
  return out;
}
