/**
 * No regular expression in src/ backtracks super-linearly: every literal is found with the
 * TypeScript parser and checked by recheck (which searches for an attack string, exponential
 * or polynomial). A pattern over untrusted text (a document, an attachment, a chat message,
 * the model's output) that backtracks is a stall of the bot waiting for the right input; this
 * test names the file, line and attack of any new one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { check } from 'recheck';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

interface Literal {
  readonly file: string;
  readonly line: number;
  readonly source: string;
  readonly flags: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'client' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function literals(): Literal[] {
  const found: Literal[] = [];
  for (const path of sourceFiles(join(ROOT, 'src'))) {
    const file = relative(ROOT, path);
    const tree = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        const text = node.getText(tree);
        const end = text.lastIndexOf('/');
        found.push({
          file,
          line: tree.getLineAndCharacterOfPosition(node.getStart(tree)).line + 1,
          source: text.slice(1, end),
          flags: text.slice(end + 1),
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(tree);
  }
  return found;
}

describe('regular expressions in src/', () => {
  it('are all linear: recheck finds no attack string for any of them', async () => {
    const all = literals();
    expect(all.length).toBeGreaterThan(100);
    const unsafe: string[] = [];
    for (const literal of all) {
      const result = await check(literal.source, literal.flags, { timeout: 10_000 });
      if (result.status === 'vulnerable') {
        unsafe.push(
          `${literal.file}:${literal.line} /${literal.source}/${literal.flags} (${result.attack.pattern})`,
        );
      }
    }
    expect(unsafe).toEqual([]);
  }, 240_000);
});
