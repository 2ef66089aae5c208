// Message registries and scan URIs of the mobile channels, shared by the SDK and the servers.
export * from './account-rotation.js';
export * from './common.js';
export * from './mc.js';
export * from './mc-payloads.js';
export * from './mc-seal.js';
export * from './ns.js';
export * from './push-key.js';
export * from './sfs.js';
export * from './sfs-target.js';
export * from './transaction.js';
export * from './uris.js';
