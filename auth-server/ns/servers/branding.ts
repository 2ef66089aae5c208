// A server's look on the login pages — accent colours for light and dark, and the app's https link — with
// the checks that keep them readable (WCAG 2.2 contrast, SC 1.4.3) and safe (https only).
import { z } from 'zod';

/**
 * The page colours an accent meets (views/static/login.css): links and outlined buttons draw the accent as
 * text on the card; primary buttons draw the card-side colour (`--on-accent`) on the accent.
 */
export const pageColours = {
  light: { card: '#ffffff', onAccent: '#ffffff' },
  dark: { card: '#1a1f29', onAccent: '#0f1218' },
} as const;

/** WCAG AA for normal text (SC 1.4.3): the accent is used for text and button labels. */
export const minContrast = 4.5;

/** WCAG 2.2 relative luminance of `#rrggbb`. */
export function relativeLuminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

/** WCAG contrast ratio (1–21) of two `#rrggbb` colours. */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Why an accent is refused for a scheme, or undefined when it reads well on the card and under labels. */
export function accentProblem(colour: string, scheme: keyof typeof pageColours): string | undefined {
  const { card, onAccent } = pageColours[scheme];
  const onCard = contrastRatio(colour, card);
  if (onCard < minContrast)
    return `contrast ${onCard.toFixed(2)}:1 against the ${scheme} card ${card} is below ${minContrast}:1`;
  const label = contrastRatio(colour, onAccent);
  if (label < minContrast)
    return `contrast ${label.toFixed(2)}:1 with the ${scheme} button label ${onAccent} is below ${minContrast}:1`;
  return undefined;
}

const hexColour = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, 'expected #rrggbb')
  .transform((c) => c.toLowerCase());

const accentFor = (scheme: keyof typeof pageColours) =>
  hexColour.superRefine((colour, ctx) => {
    const problem = accentProblem(colour, scheme);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const accentLightSchema = accentFor('light').describe(
  `Accent of light pages, #rrggbb; at least ${minContrast}:1 against the white card and under white button labels`,
);
export const accentDarkSchema = accentFor('dark').describe(
  `Accent of dark pages, #rrggbb; at least ${minContrast}:1 against the dark card ${pageColours.dark.card} and under its labels ${pageColours.dark.onAccent}`,
);

export const maxAppLinkLength = 2048;

/** Why an app link is refused, or undefined. The page appends `?d=…`, so it carries no fragment. */
export function appLinkProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an https URL';
  }
  if (url.protocol !== 'https:') return 'the app link must be https (a universal link / App Link)';
  if (url.username !== '' || url.password !== '') return 'the app link must not carry credentials';
  if (url.hash !== '') return 'the app link must not have a fragment';
  if (url.searchParams.has('d')) return 'the app link must not set d= (the page adds the login code)';
  return undefined;
}

export const appLinkSchema = z
  .string()
  .max(maxAppLinkLength)
  .superRefine((value, ctx) => {
    const problem = appLinkProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe("The app's https link (universal link / Android App Link); the login page adds ?d=<login code>");
