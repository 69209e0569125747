// Every UI string exists in both languages, with the same placeholders. (A missing key is also a
// type error in web/src/i18n/zh-CN.ts; this test catches what types cannot: empty or untranslated
// text and placeholders that differ.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { en } from '../web/src/i18n/en.js';
import { zhCN } from '../web/src/i18n/zh-CN.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
/** Strings that are the same in both languages: names, not words. */
const SAME_IN_BOTH = new Set(['app.titleBox']);

describe('dashboard translations', () => {
  it('has every key in both languages, and no key in only one', () => {
    assert.deepEqual(Object.keys(zhCN).sort(), Object.keys(en).sort());
  });

  it('fills every message in both languages', () => {
    for (const [key, text] of Object.entries(en)) {
      const zh = zhCN[key as keyof typeof en];
      assert.ok(text.trim() !== '', `en ${key} is empty`);
      assert.ok(zh.trim() !== '', `zh-CN ${key} is empty`);
      if (!SAME_IN_BOTH.has(key)) assert.notEqual(zh, text, `zh-CN ${key} is still English`);
    }
  });

  it('uses the same placeholders in both languages', () => {
    for (const [key, text] of Object.entries(en)) {
      assert.deepEqual(placeholders(zhCN[key as keyof typeof en]), placeholders(text), `placeholders of ${key}`);
    }
  });

  it('writes Chinese where the Chinese text has words', () => {
    for (const [key, zh] of Object.entries(zhCN)) {
      if (SAME_IN_BOTH.has(key)) continue;
      assert.match(zh, /[\u4e00-\u9fff]/, `zh-CN ${key} has no Chinese character: ${zh}`);
    }
  });

  it('uses only keys that exist (t() calls in web/src)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : /\.tsx?$/.test(d.name) ? [join(dir, d.name)] : []));
    const used = new Set<string>();
    for (const file of files(new URL('../web/src', import.meta.url).pathname)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]!);
    }
    assert.ok(used.size > 30, `found the t() calls (${used.size})`);
    for (const key of used) assert.ok(key in en, `t('${key}') has no message`);
  });
});
