/**
 * A GitHub-flavoured Markdown table from rows of cell text, for the converters of other markup
 * (AsciiDoc, Notion, Confluence). Cells are made safe for one table cell: `|` escaped, line
 * breaks as spaces. At most `MAX_TABLE_COLUMNS` columns; a row's further cells join its last
 * one, so nothing is lost and a row costs what its cells hold.
 */
export const MAX_TABLE_COLUMNS = 32;

function cell(text: string): string {
  let out = '';
  for (const char of text) out += char === '|' ? '\\|' : char === '\n' || char === '\r' ? ' ' : char;
  return out.trim();
}

/** The table's lines; the first row is the header when `header`, else the header is empty. */
export function markdownTable(rows: readonly (readonly string[])[], header: boolean): string[] {
  if (rows.length === 0) return [];
  // A loop, not a spread: a table can have more rows than a call has room for arguments.
  let width = 1;
  for (const row of rows) width = Math.min(MAX_TABLE_COLUMNS, Math.max(width, row.length));
  const line = (row: readonly string[]) =>
    `| ${Array.from({ length: width }, (_, i) => cell(i === width - 1 ? row.slice(i).join(' ') : (row[i] ?? ''))).join(' | ')} |`;
  const head = header ? rows[0]! : Array.from({ length: width }, () => '');
  return [
    line(head),
    line(Array.from({ length: width }, () => '---')),
    ...(header ? rows.slice(1) : rows).map(line),
  ];
}
