/** Registers every built-in middleware kind; the gateway runtime imports this once. */
import './addPrefix.ts';
import './headers.ts';
import './redirectRegex.ts';
import './redirectScheme.ts';
import './replacePath.ts';
import './replacePathRegex.ts';
import './stripPrefix.ts';
import './stripPrefixRegex.ts';
import './basicAuth.ts';
import './inFlightReq.ts';
import './ipAllowList.ts';
import './rateLimit.ts';
import './forwardAuth.ts';
import './jwt.ts';
