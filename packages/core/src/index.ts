export * from './errors.js';
export * from './ids.js';
export * from './resources.js';
export * from './schemas.js';
export * from './spec.js';
export * from './status.js';
export * from './time.js';
export * from './metrics.js';
