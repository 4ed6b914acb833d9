/** The failure text of the config commands, in the consul CLI's words ("Error writing config entry web: ..."). */
import { isApiStatusError } from '../../../api/client.ts';
import { CliErrors } from '../../io.ts';
import type { MeshgateError } from '../../../lib/errors.ts';

export function apiError(what: string, kind: string, name: string, err: unknown): MeshgateError {
  const detail = isApiStatusError(err) ? `Unexpected response code: ${err.statusCode} (${err.body.trim()})` : (err as Error).message;
  return CliErrors.failed(`${what} ${kind}/${name}: ${detail}`);
}
