/** Registers the `jwt` auth method type. */
import { registerAuthMethodType } from '../registry.ts';
import { createJwtValidator } from './validator.ts';

registerAuthMethodType('jwt', createJwtValidator);

export { createJwtValidator };
