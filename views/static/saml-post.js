// Submits the SAML form of the page at once, or follows its HTTP-Redirect link (the button and the link are
// there for browsers without JavaScript). `assign`, not `replace`: the page stays in the history, so a user
// whose application never answers a logout can come back and the logout goes on without it.
// On a hop of a logout chain the page stays ours while the SP has not answered the browser's request; if that
// lasts `data-give-up-after` ms, the chain goes on without the SP (`data-give-up`, which records it unreached).
const hop = document.querySelector('main[data-give-up]');
if (hop instanceof HTMLElement) {
  const url = hop.dataset.giveUp;
  const after = Number(hop.dataset.giveUpAfter);
  if (url && Number.isFinite(after) && after > 0) setTimeout(() => window.location.replace(url), after);
}
document.getElementById('saml-post')?.submit();
const link = document.getElementById('saml-redirect');
if (link instanceof HTMLAnchorElement) window.location.assign(link.href);
