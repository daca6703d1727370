/**
 * reStructuredText to Markdown for retrieval: section titles (underlined, optionally
 * overlined, levels in order of first use) become headings, literal blocks and code
 * directives become fenced code, admonitions become quotes, comments and layout directives
 * (toctree, images, labels) are dropped, and inline roles and links keep their text. One pass
 * over the lines and a character scan per line: linear in the input, no regular expressions
 * over the document. A pure function, so it can run in the parse pool.
 */
import { fencedCode } from '../../text/fence.js';

const ADORNMENT = '=-`:\'"~^_*+#<>.';
const CODE_DIRECTIVES = new Set(['code', 'code-block', 'sourcecode']);
/**
 * Directives with no prose of their own: navigation, images, files included from elsewhere
 * (`literalinclude` names a file this document does not hold), raw output and settings.
 */
const NO_PROSE = new Set([
  '',
  'toctree',
  'image',
  'include',
  'literalinclude',
  'raw',
  'meta',
  'contents',
  'index',
  'highlight',
  'sectnum',
  'default-role',
  'role',
  'tabularcolumns',
  'currentmodule',
  'module',
]);
/** Directives describing an API: their argument is a signature, written as code. */
const SIGNATURES = new Set([
  'function',
  'method',
  'class',
  'attribute',
  'data',
  'exception',
  'decorator',
  'option',
  'envvar',
  'describe',
  'object',
  'property',
  'type',
  'macro',
  'member',
  'var',
]);
/** Directives whose argument is a condition (`.. only:: html`), not a title. */
const CONDITIONS = new Set(['only', 'ifconfig']);
/** Directives inside directives (tabs holding code, say) are read to this depth; deeper ones as lines. */
const MAX_NESTED_DIRECTIVES = 4;
const ADMONITIONS = new Set([
  'note',
  'warning',
  'tip',
  'important',
  'caution',
  'danger',
  'attention',
  'hint',
  'error',
  'seealso',
  'admonition',
  'versionadded',
  'versionchanged',
  'deprecated',
]);

function isAdornment(line: string): boolean {
  const trimmed = line.trimEnd();
  if (trimmed.length < 2 || !ADORNMENT.includes(trimmed[0]!)) return false;
  for (const char of trimmed) if (char !== trimmed[0]) return false;
  return true;
}

function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

/** The longest role name looked for (`:py:meth:`, `:doc:`). */
const MAX_ROLE_CHARS = 30;

/** Where the `:` before the backtick that closes a role's name is, within `MAX_ROLE_CHARS`; -1 if not. */
function roleClose(line: string, from: number): number {
  const limit = Math.min(line.length - 1, from + MAX_ROLE_CHARS + 1);
  for (let at = from; at < limit; at++) if (line[at] === ':' && line[at + 1] === '`') return at;
  return -1;
}

/** Inline markup: ``literal`` → `literal`, :role:`text <target>` → text, `text <url>`_ → [text](url). */
export function rstInline(line: string): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const char = line[i]!;
    if (char === '`' && line[i + 1] === '`') {
      const end = line.indexOf('``', i + 2);
      if (end > i + 2) {
        out += `\`${line.slice(i + 2, end)}\``;
        i = end + 2;
        continue;
      }
    }
    if (char === ':' && i + 1 < line.length) {
      // :role:`...` — a role's name is short, so its closing `:` is looked for nearby only: a
      // line of a hundred thousand colons is one pass, not one search to its end per colon.
      const close = roleClose(line, i + 1);
      const role = close > i ? line.slice(i + 1, close) : '';
      if (role && !role.includes(' ')) {
        const end = line.indexOf('`', close + 2);
        if (end > close + 2) {
          out += textOfReference(line.slice(close + 2, end), role === 'code' || role === 'literal');
          i = end + 1;
          continue;
        }
      }
    }
    if (char === '`') {
      const end = line.indexOf('`', i + 1);
      if (end > i + 1) {
        const inner = line.slice(i + 1, end);
        const anonymous = line[end + 1] === '_' && line[end + 2] === '_';
        const named = line[end + 1] === '_';
        const open = inner.lastIndexOf('<');
        if (named && open >= 0 && inner.endsWith('>')) {
          const text = inner.slice(0, open).trim();
          const target = inner.slice(open + 1, -1).trim();
          out += target.includes('://') ? `[${text || target}](${target})` : text || target;
        } else if (named) {
          out += inner;
        } else {
          out += `*${inner}*`;
        }
        i = end + 1 + (anonymous ? 2 : named ? 1 : 0);
        continue;
      }
    }
    out += char;
    i++;
  }
  return out;
}

/** `text <target>` → text (or the target's last part); code roles keep code formatting. */
function textOfReference(inner: string, code: boolean): string {
  const open = inner.lastIndexOf('<');
  let text = open > 0 && inner.endsWith('>') ? inner.slice(0, open).trim() : inner.trim();
  if (text.startsWith('~')) text = text.slice(1).split('.').at(-1) ?? text;
  return code ? `\`${text}\`` : text;
}

/** The indented block starting at `from`: its lines (dedented) and the index after it. */
function indentedBlock(lines: readonly string[], from: number, minIndent: number) {
  const block: string[] = [];
  let i = from;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      block.push('');
      i++;
      continue;
    }
    if (indentOf(line) < minIndent) break;
    block.push(line);
    i++;
  }
  while (block.length > 0 && block.at(-1) === '') block.pop();
  let indent = Number.MAX_SAFE_INTEGER;
  for (const line of block) if (line.trim()) indent = Math.min(indent, indentOf(line));
  return { lines: block.map((line) => line.slice(Math.min(indent, indentOf(line)))), next: i };
}

export function rstToMarkdown(source: string, nesting = 0): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  const levels: string[] = [];
  const level = (style: string) => {
    let index = levels.indexOf(style);
    if (index < 0) {
      levels.push(style);
      index = levels.length - 1;
    }
    return Math.min(index + 1, 6);
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const next = lines[i + 1];
    // Overlined title: ===== / Title / =====
    if (isAdornment(line) && next?.trim() && lines[i + 2] !== undefined) {
      const under = lines[i + 2]!;
      if (isAdornment(under) && under.trimEnd()[0] === line[0] && !isAdornment(next)) {
        out.push(`${'#'.repeat(level(`over${line[0]}`))} ${rstInline(next.trim())}`, '');
        i += 3;
        continue;
      }
    }
    // Underlined title: Title / -----
    if (
      line.trim() &&
      indentOf(line) === 0 &&
      !isAdornment(line) &&
      next !== undefined &&
      isAdornment(next) &&
      next.trimEnd().length >= Math.min(line.trim().length, 3)
    ) {
      out.push(`${'#'.repeat(level(next[0]!))} ${rstInline(line.trim())}`, '');
      i += 2;
      continue;
    }
    // Directives and comments: `.. name:: argument`, `.. _label:`, `.. anything`
    if (line.startsWith('.. ') || line.trim() === '..') {
      const body = line.slice(3);
      const marker = body.indexOf('::');
      const name = marker > 0 ? body.slice(0, marker).trim().toLowerCase() : '';
      const argument = marker > 0 ? body.slice(marker + 2).trim() : '';
      const block = indentedBlock(lines, i + 1, 1);
      i = block.next;
      // Option lines (`:linenos:`) come first in a directive's block.
      let content = block.lines;
      while (content.length > 0 && content[0]!.startsWith(':')) content = content.slice(1);
      // The blank line between the directive (and its options) and its content is not content.
      while (content.length > 0 && content[0] === '') content = content.slice(1);
      if (CODE_DIRECTIVES.has(name)) {
        out.push(fencedCode(content.join('\n'), argument.split(' ')[0] ?? ''), '');
      } else if (ADMONITIONS.has(name)) {
        const label = name === 'admonition' ? argument : `${name[0]!.toUpperCase()}${name.slice(1)}`;
        const text = [name === 'admonition' ? '' : argument, ...content];
        out.push(`> **${label}:** ${rstInline(text.join(' ').trim())}`, '');
      } else if (!NO_PROSE.has(name) && !name.startsWith('auto')) {
        // Any other directive (a list-table, a glossary, tabs, an API description, a figure's
        // caption) holds prose: its argument as a title (a signature as code), then its content.
        const kind = name.slice(name.lastIndexOf(':') + 1);
        if (argument && SIGNATURES.has(kind)) out.push(`\`${argument.replaceAll('`', '')}\``, '');
        else if (argument && !CONDITIONS.has(kind)) out.push(`**${rstInline(argument)}**`, '');
        if (nesting < MAX_NESTED_DIRECTIVES) out.push(rstToMarkdown(content.join('\n'), nesting + 1));
        else for (const line of content) out.push(rstInline(line.trim()));
        out.push('');
      }
      // Comments, labels and directives without prose (toctree, images, includes) are left out.
      continue;
    }
    // A paragraph ending in `::` introduces a literal block.
    if (line.trimEnd().endsWith('::')) {
      const text = line.trimEnd().slice(0, -2).trimEnd();
      if (text) out.push(rstInline(text.endsWith(' ') || text === '' ? text : `${text}:`));
      let start = i + 1;
      while (start < lines.length && lines[start]!.trim() === '') start++;
      const minimum = indentOf(line) + 1;
      if (start < lines.length && indentOf(lines[start]!) >= minimum) {
        const block = indentedBlock(lines, start, minimum);
        out.push('', fencedCode(block.lines.join('\n')), '');
        i = block.next;
      } else i++;
      continue;
    }
    // Bullets: *, + and - become -; the rest passes with its inline markup rewritten.
    const indent = indentOf(line);
    const rest = line.slice(indent);
    if ((rest.startsWith('* ') || rest.startsWith('+ ')) && rest.length > 2) {
      out.push(`${line.slice(0, indent)}- ${rstInline(rest.slice(2))}`);
    } else if (rest.startsWith('#. ')) {
      out.push(`${line.slice(0, indent)}1. ${rstInline(rest.slice(3))}`);
    } else {
      // Indentation would make Markdown code of a quoted paragraph: prose is set flush.
      out.push(line.trim() ? rstInline(rest) : '');
    }
    i++;
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
