/**
 * rml:template syntax: text with {reference} slots. A backslash escapes `{`, `}` and `\` both in the
 * text and inside a reference; anything else after a backslash, a nested `{`, a stray `}` or an unclosed
 * slot is an invalid template.
 */

import { RmlError } from './errors.js';

export type TemplatePart = { text: string } | { reference: string };

export function parseTemplate(template: string, where: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let buf = '';
  let inRef = false;
  const fail = (why: string): never => {
    throw new RmlError(
      `${where}: invalid rml:template "${template}": ${why}. Write literal braces and backslashes as \\{ \\} \\\\ ` +
        '(in Turtle that is "\\\\{" "\\\\}" "\\\\\\\\").',
    );
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '\\') {
      const next = template[i + 1];
      if (next === '{' || next === '}' || next === '\\') {
        buf += next;
        i++;
        continue;
      }
      fail(`"\\${next ?? ''}" at position ${i} is not an escape (only \\{ \\} \\\\ are)`);
    }
    if (c === '{') {
      if (inRef) fail(`nested "{" at position ${i}`);
      if (buf) parts.push({ text: buf });
      buf = '';
      inRef = true;
      continue;
    }
    if (c === '}') {
      if (!inRef) fail(`"}" at position ${i} closes no reference`);
      if (!buf) fail(`empty reference "{}" at position ${i - 1}`);
      parts.push({ reference: buf });
      buf = '';
      inRef = false;
      continue;
    }
    buf += c;
  }
  if (inRef) fail('a "{" is never closed');
  if (buf) parts.push({ text: buf });
  return parts;
}
