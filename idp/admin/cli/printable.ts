// Text from the server (userids, descriptions, user agents can hold any character) made safe for a terminal.

/** Control characters become `\uXXXX`, so none reaches the terminal as such (escape sequences, tabs). */
export function printable(value: string): string {
  return value.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One table row: each column escaped on its own, then joined by tabs that stay tabs. */
export function printableRow(columns: readonly string[]): string {
  return columns.map(printable).join('\t');
}
