// The module Artillery loads as `config.processor`. Artillery bundles a processor whose name ends in `.ts` with
// esbuild into a CommonJS dist/ folder beside it; an `.mts` name is imported as it is (Node strips the types), so
// the functions stay the repository's own ESM TypeScript in buyer.ts.
export * from './buyer.ts';
