// IDP migrations in the order they run; append only, never rename or reorder a released entry.
import type { Migration } from '../../auth-server/common/db/migration.js';
import * as oidc from './0001_oidc.js';
import * as idpSessions from './0002_idp_sessions.js';
import * as saml from './0003_saml.js';
import * as idpSessionNsLink from './0004_idp_session_ns_link.js';
import * as samlLogout from './0005_saml_logout.js';
import * as samlKeyRotation from './0006_saml_key_rotation.js';

export const migrations: readonly Migration[] = [
  { name: '0001_oidc', up: oidc.up, down: oidc.down },
  { name: '0002_idp_sessions', up: idpSessions.up, down: idpSessions.down },
  { name: '0003_saml', up: saml.up, down: saml.down },
  { name: '0004_idp_session_ns_link', up: idpSessionNsLink.up, down: idpSessionNsLink.down },
  { name: '0005_saml_logout', up: samlLogout.up, down: samlLogout.down },
  { name: '0006_saml_key_rotation', up: samlKeyRotation.up, down: samlKeyRotation.down },
];
