// Submits the SAML form of the page at once, or follows its HTTP-Redirect link (the button and the link are
// there for browsers without JavaScript). `assign`, not `replace`: the page stays in the history, so a user
// whose application never answers a logout can come back and the logout goes on without it.
document.getElementById('saml-post')?.submit();
const link = document.getElementById('saml-redirect');
if (link instanceof HTMLAnchorElement) window.location.assign(link.href);
