// The visual hash of a server key: four pictures with their names and a colour, derived from the key's
// RFC 7638 thumbprint, so a person can compare at a glance what the enrol page and the phone show.
// It is a check for people, not for machines: the phone pins the full thumbprint from the enrol QR.
import { fromB64u } from './encoding.js';

/** 64 pictures (6 bits each) that look and read differently from one another in every common emoji font. */
const symbols: readonly (readonly [emoji: string, name: string])[] = [
  ['🐶', 'dog'],
  ['🐱', 'cat'],
  ['🦊', 'fox'],
  ['🐻', 'bear'],
  ['🐼', 'panda'],
  ['🐨', 'koala'],
  ['🐯', 'tiger'],
  ['🦁', 'lion'],
  ['🐮', 'cow'],
  ['🐷', 'pig'],
  ['🐸', 'frog'],
  ['🐵', 'monkey'],
  ['🐔', 'chicken'],
  ['🐧', 'penguin'],
  ['🦉', 'owl'],
  ['🦄', 'unicorn'],
  ['🐝', 'bee'],
  ['🦋', 'butterfly'],
  ['🐌', 'snail'],
  ['🐢', 'turtle'],
  ['🐍', 'snake'],
  ['🐙', 'octopus'],
  ['🦀', 'crab'],
  ['🐬', 'dolphin'],
  ['🐳', 'whale'],
  ['🦈', 'shark'],
  ['🐘', 'elephant'],
  ['🦒', 'giraffe'],
  ['🐪', 'camel'],
  ['🦔', 'hedgehog'],
  ['🌵', 'cactus'],
  ['🌲', 'tree'],
  ['🍄', 'mushroom'],
  ['🌻', 'sunflower'],
  ['🌙', 'moon'],
  ['⭐', 'star'],
  ['🔥', 'fire'],
  ['🌈', 'rainbow'],
  ['❄️', 'snowflake'],
  ['⚡', 'lightning'],
  ['🍎', 'apple'],
  ['🍌', 'banana'],
  ['🍇', 'grapes'],
  ['🍓', 'strawberry'],
  ['🍋', 'lemon'],
  ['🥕', 'carrot'],
  ['🌽', 'corn'],
  ['🍕', 'pizza'],
  ['🎈', 'balloon'],
  ['🎁', 'gift'],
  ['🔑', 'key'],
  ['⚓', 'anchor'],
  ['🚲', 'bicycle'],
  ['🚀', 'rocket'],
  ['✈️', 'airplane'],
  ['⛵', 'sailboat'],
  ['🏠', 'house'],
  ['⏰', 'clock'],
  ['🔔', 'bell'],
  ['🎸', 'guitar'],
  ['🥁', 'drum'],
  ['⚽', 'football'],
  ['🎲', 'dice'],
  ['👑', 'crown'],
];

export interface VisualHash {
  emoji: string[];
  words: string[];
  /** `#rrggbb`, a saturated colour from the hash: a frame or background behind the pictures. */
  color: string;
  /** The words joined for a screen reader or a terminal: `fox · anchor · moon · bell`. */
  text: string;
}

const thumbprintPattern = /^[A-Za-z0-9_-]{43}$/;

/** HSL(h, 65 %, 45 %) as hex: bright enough on dark and light backgrounds alike. */
function hueToHex(hue: number): string {
  const s = 0.65;
  const l = 0.45;
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    const value = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/** The visual hash of an RFC 7638 SHA-256 thumbprint (base64url, 43 characters). */
export function visualHash(thumbprint: string): VisualHash {
  if (!thumbprintPattern.test(thumbprint)) throw new TypeError('not an RFC 7638 SHA-256 thumbprint');
  const bytes = fromB64u(thumbprint);
  // 24 bits → four 6-bit picture indexes; the next 16 bits → the hue.
  const bits = ((bytes[0] ?? 0) << 16) | ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
  const picked = [18, 12, 6, 0].map((shift) => symbols[(bits >> shift) & 63] ?? symbols[0]);
  const hue = ((((bytes[3] ?? 0) << 8) | (bytes[4] ?? 0)) * 360) / 65536;
  const words = picked.map((p) => p?.[1] ?? '');
  return {
    emoji: picked.map((p) => p?.[0] ?? ''),
    words,
    color: hueToHex(hue),
    text: words.join(' · '),
  };
}
