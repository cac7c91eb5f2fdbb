// The merged public contract without a running stack: the same mergeDocuments the gateway serves at
// /api/openapi.json, fed with the services' openapi.yaml files from this repository instead of their
// /openapi.json. The frontend's build generates its typed API client from it (shared/DESIGN.md: "the app's
// typed client is generated in its build ... with the same merge code the gateway uses").
import { existsSync } from 'node:fs';
import { loadOpenApiDocument } from '@eventtickets/platform/contracts';
import { UPSTREAM_SERVICES } from '../config.ts';
import { loadRoutingTable } from '../routing/table.ts';
import { mergeDocuments } from './openapi-merge.ts';

const servicesDir = new URL('../../../', import.meta.url);

/** The merged document; a service whose openapi.yaml is missing is named in x-missing-services. */
export function mergeRepositoryContracts(): any {
  const contracts: Array<{ service: string; document: any }> = [];
  const missing: string[] = [];
  for (const service of UPSTREAM_SERVICES) {
    const file = new URL(`${service}/openapi.yaml`, servicesDir).pathname;
    if (existsSync(file)) contracts.push({ service, document: loadOpenApiDocument(file) });
    else missing.push(service);
  }
  const gatewayDocument = loadOpenApiDocument(new URL('gateway/openapi.yaml', servicesDir).pathname);
  return mergeDocuments({ table: loadRoutingTable(), gatewayDocument }, contracts, missing);
}
