export * from './hyperparameters.js';
export * from './types.js';
export { SEARCHER_DEFAULTS, SEARCHER_NAMES, ASHA_MODES, SearcherConfigSchema, resolveSearcherConfig, withSearcherDefaults, type SearcherConfigInput } from './config.js';
export { createSearcher, restoreSearcher, validateSearcherConfig } from './searcher.js';
export { planAdaptiveAsha, type AshaPlan, type AshaBracketPlan } from './asha-plan.js';
