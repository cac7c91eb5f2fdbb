// The gateway's routing table: the public path → service table (table.yaml, data not code), loaded and compiled
// once at start by the rules in domain/routing.ts.
import { loadYamlDocument } from '@eventtickets/platform/contracts';
import { compileTable, type RoutingTable } from '../domain/routing.ts';

export const DEFAULT_TABLE_FILE = new URL('./table.yaml', import.meta.url);

export function loadRoutingTable(file: URL | string = DEFAULT_TABLE_FILE): RoutingTable {
  return compileTable(loadYamlDocument(file));
}
