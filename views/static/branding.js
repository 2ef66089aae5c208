// A virtual server's branding on a page: display name, data: logo, and its accent colour set through the
// CSSOM as `--accent` (allowed by the strict style-src, unlike an inline style), following light and dark.
// Resolves to the branding (or undefined): branding is decoration, so a failure leaves the page as it is.

export async function applyBranding(server, parts = {}) {
  let b;
  try {
    const res = await fetch(`/ns/servers/${encodeURIComponent(server)}/branding`, { credentials: 'omit' });
    if (!res.ok) return undefined;
    b = await res.json();
  } catch {
    return undefined;
  }
  if (parts.name && typeof b.displayName === 'string') parts.name.textContent = b.displayName;
  if (parts.logo && typeof b.logo === 'string' && b.logo.startsWith('data:image/')) {
    parts.logo.src = b.logo;
    parts.logo.hidden = false;
  }
  const valid = (c) => typeof c === 'string' && /^#[0-9a-f]{6}$/i.test(c);
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const accent = () => {
    const colour = dark.matches ? b.accentDark : b.accentLight;
    const style = document.documentElement.style;
    if (valid(colour)) style.setProperty('--accent', colour);
    else style.removeProperty('--accent');
  };
  accent();
  dark.addEventListener('change', accent);
  return b;
}
