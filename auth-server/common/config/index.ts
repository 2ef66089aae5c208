// Public face of the configuration module.

export { configTableMarkdown } from './docs.js';
export { type Config, ConfigError, loadConfig, type Mode, type ServiceName, serviceNames } from './load.js';
export { type SettingKey, type SettingSpec, settings } from './schema.js';
