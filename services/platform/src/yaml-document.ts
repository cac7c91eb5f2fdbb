// YAML documents a service reads at start (its openapi.yaml, the gateway's routing table) without loading the yaml
// package when it can (issue 19: the parser's ~60 modules and what parsing leaves behind were ~2 MiB of every
// service's idle memory, for a document that changes only when someone edits it). The YAML file stays the source:
// next to it, `.<name>.json` holds { sha256 of the YAML text, the parsed document }; a start that finds the copy
// made from the very same text reads the JSON, any other start (no copy, a copy of an older text, a copy it cannot
// read) parses the YAML and writes the copy for the next start (atomically, by rename; on a read-only file system,
// as in the image at run time, it parses every time unless the image build wrote the copies: the Dockerfile does).
// A document JSON cannot represent as parsed (a YAML timestamp, .inf) gets no copy.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

interface JsonCopy {
  sha256: string;
  document: unknown;
}

/** Where the JSON copy of `file` lives: `.openapi.yaml.json` next to `openapi.yaml`. */
export function jsonCopyPath(file: string | URL): string {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  return join(dirname(path), `.${basename(path)}.json`);
}

let parseYaml: ((text: string) => unknown) | undefined;

/** The parsed YAML document of `file`, from its JSON copy when the copy was made from the same text. */
export function loadYamlDocument(file: string | URL): any {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  const text = readFileSync(path, 'utf8');
  const sha256 = createHash('sha256').update(text).digest('hex');
  const copyPath = jsonCopyPath(path);
  try {
    const copy = JSON.parse(readFileSync(copyPath, 'utf8')) as JsonCopy;
    if (copy.sha256 === sha256) return copy.document;
  } catch {
    // no copy yet, or one that cannot be read: parse the YAML
  }
  parseYaml ??= (createRequire(import.meta.url)('yaml') as { parse: (text: string) => unknown }).parse;
  const document = parseYaml(text);
  const json = JSON.stringify({ sha256, document } satisfies JsonCopy);
  if (isDeepStrictEqual((JSON.parse(json) as JsonCopy).document, document)) {
    const temporary = `${copyPath}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, json);
      renameSync(temporary, copyPath);
    } catch {
      // a read-only file system: parse again next time
      try {
        rmSync(temporary, { force: true });
      } catch {
        // nothing was written
      }
    }
  }
  return document;
}
