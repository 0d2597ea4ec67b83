// Every script of the UI parses (a browser reports a module that does not only as a page that
// never draws).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');

function scripts(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === 'tests') return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? scripts(path) : e.name.endsWith('.js') ? [path] : [];
  });
}

test('every script of the UI parses', () => {
  const all = scripts(web);
  assert.ok(all.length >= 5);
  for (const file of all) {
    const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${file}: ${r.stderr}`);
  }
});
