/**
 * Issue 12's measure of code that stays easy to change: no file over 300 lines, no function over 60.
 * Checked for every layer of src/ (the entry scripts under bin/ are not TypeScript).
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHECKED = ['src/client', 'src/cli', 'src/server', 'src/transport', 'src/util', 'src/protocol'];
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 60;

async function sourceFiles(folder: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, folder), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every function, method or arrow function of `text` longer than `max` lines, as "path:line name (n lines)". */
function longFunctions(path: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const lines = lineOf(node.getEnd()) - lineOf(node.getStart()) + 1;
      const name = node.name?.getText(source) ?? '(anonymous)';
      if (lines > max) found.push(`${path}:${lineOf(node.getStart())} ${name} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('code size', () => {
  for (const folder of CHECKED) {
    test(`${folder}: no file over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES}`, async () => {
      const files = await sourceFiles(folder);
      assert.ok(files.length > 0, `no sources found under ${folder}`);
      const problems: string[] = [];
      for (const path of files) {
        const text = await readFile(join(ROOT, path), 'utf8');
        const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
        if (lines > MAX_FILE_LINES) problems.push(`${path} (${lines} lines)`);
        problems.push(...longFunctions(path, text, MAX_FUNCTION_LINES));
      }
      assert.deepEqual(problems, []);
    });
  }
});
