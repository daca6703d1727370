/** Files the tests ingest or attach, built in memory so no fixture is downloaded. */

/** A minimal valid one-page PDF holding `text`. */
export function tinyPdf(text: string, title = 'Attached PDF'): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${title}) >>`,
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/** The first bytes of a PNG image: binary data no loader reads. */
export const PNG_BYTES = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48,
]);

/** A budget table no document in knowledge/ mentions. */
export const BUDGET_CSV = [
  'item,owner,amount_eur',
  'Lisbon offsite venue,Marta,18400',
  'Flights,Jonas,9650',
  'Catering,Marta,4200',
].join('\n');

/** The context block of the last answer prompt a Groq request carried. */
export function promptContext(messages: readonly { role: string; content: string }[] | undefined): string {
  const last = messages?.at(-1)?.content ?? '';
  return /<context>[\s\S]*<\/context>/.exec(last)?.[0] ?? '';
}
