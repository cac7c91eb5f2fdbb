// The gateway's routing table: the public path → service table (table.yaml, data not code), loaded and compiled
// once at start by the rules in domain/routing.ts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { compileTable, type RoutingTable } from '../domain/routing.ts';

export const DEFAULT_TABLE_FILE = new URL('./table.yaml', import.meta.url);

export function loadRoutingTable(file: URL | string = DEFAULT_TABLE_FILE): RoutingTable {
  return compileTable(parse(readFileSync(file, 'utf8')));
}
