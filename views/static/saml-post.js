// Submits the SAML form of the page at once (the button is there for browsers without JavaScript).
document.getElementById('saml-post')?.submit();
