// Mocha setup shared by every suite: quiet logs unless asked for, and a stable test environment.
process.env.NEXTAUTH_LOG_LEVEL ??= 'silent';
