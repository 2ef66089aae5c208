// Public face of the configuration module.

export { configTableMarkdown } from './docs.js';
export {
  type Config,
  ConfigError,
  loadConfig,
  type McPushConfig,
  type Mode,
  type PushEndpointOverride,
  type ServiceName,
  serviceNames,
} from './load.js';
export { type SettingKey, type SettingSpec, settings } from './schema.js';
