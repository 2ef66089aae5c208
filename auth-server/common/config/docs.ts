// Renders the settings list as the README's configuration table, so docs cannot drift from the code.
import { type SettingSpec, settings } from './schema.js';

export function configTableMarkdown(): string {
  const rows = (Object.values(settings) as SettingSpec[]).map((s) => {
    const def = s.default === undefined ? '—' : s.default === '' ? '(empty)' : `\`${s.default}\``;
    const notes = [s.secret ? 'secret: also `_FILE`' : '', s.mustSetInProduction ? 'set in production' : '']
      .filter(Boolean)
      .join('; ');
    return `| \`${s.env}\` | ${def} | ${s.description}${notes ? ` (${notes})` : ''} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
