/**
 * The services' configuration schemas live in the configuration layer (config/schema/services.ts), which imports no
 * data-plane code; the data plane reads its configuration types from there. Kept so `./schema.ts` imports hold.
 */
export * from '../config/schema/services.ts';
