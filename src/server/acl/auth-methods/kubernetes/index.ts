/** Registers the `kubernetes` auth method type. */
import { registerAuthMethodType } from '../registry.ts';
import { createKubernetesValidator } from './validator.ts';

registerAuthMethodType('kubernetes', createKubernetesValidator);

export { createKubernetesValidator };
