// The stack registry the on-sale bench starts (STACK_REGISTRY): the registered services an on-sale touches
// (users, catalog, inventory, gateway), or those named in BENCH_STACK_SERVICES, in the registry's own shape.
import { stackServices as registered } from '../../scripts/stack/services.ts';

const wanted = (process.env.BENCH_STACK_SERVICES ?? 'users,catalog,inventory,gateway').split(',').map((s) => s.trim());

export const stackServices = registered.filter((s) => wanted.includes(s.name));
