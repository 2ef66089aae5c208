// Locates templates under views/ (from source or from dist/) and fills them with HTML-escaped values.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// From source, views/ is one level up; compiled into dist/idp/, two levels.
const fromSource = fileURLToPath(new URL('../views/', import.meta.url));
const fromDist = fileURLToPath(new URL('../../views/', import.meta.url));
const viewsDir = existsSync(fromSource) ? fromSource : fromDist;

export function viewPath(name: string): string {
  return `${viewsDir}${name}`;
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/**
 * Replaces `{{name}}` with the escaped value and `{{t:key}}` with the escaped text of `messages` (the page's
 * locale); unknown names are an error, so templates cannot drift from the code or the catalogues.
 */
export function renderTemplate(
  template: string,
  values: Record<string, string>,
  messages: Readonly<Record<string, string>> = {},
): string {
  return template.replace(/\{\{(t:)?(\w+)\}\}/g, (_, text: string | undefined, name: string) => {
    const value = text ? messages[name] : values[name];
    if (value === undefined) throw new Error(`template ${text ? 'message' : 'value'} missing: ${name}`);
    return escapeHtml(value);
  });
}
