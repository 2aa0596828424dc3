/**
 * Bundle-only replacement for @aws-sdk/credential-provider-node (scripts/build-functions.ts redirects that
 * import here; Node-side tests use the real SDK default chain).
 *
 * Why: the default chain statically links SSO/INI/process/web-identity/IMDS/login providers plus the nested
 * STS/SSO clients they need — roughly a third of the bundle — and Lambda never uses them: the runtime puts the
 * execution role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. The local
 * gateway sets fake ones the same way. The container-credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI /
 * _RELATIVE_URI, used by e.g. SnapStart runtimes and ECS) stays as a cheap fallback.
 *
 * Consequence (documented): a bundle run outside Lambda with only a profile/SSO login will not find
 * credentials; run it with env credentials (aws configure export-credentials --format env).
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import type { AwsCredentialIdentityProvider, Logger } from "@smithy/types";
import { chain, CredentialsProviderError } from "@smithy/core/config";

export const defaultProvider = (init: { logger?: Logger } = {}): AwsCredentialIdentityProvider =>
    chain(fromEnv(init), async () => {
        const env = process.env;
        if (!env.AWS_CONTAINER_CREDENTIALS_FULL_URI && !env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
            throw new CredentialsProviderError(
                "No credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (Lambda does) or a container credentials URI",
                { logger: init.logger, tryNextLink: false },
            );
        }
        return fromHttp(init)();
    });

export const credentialsWillNeedRefresh = (c?: { expiration?: Date }) => c?.expiration !== undefined;
export const credentialsTreatedAsExpired = (c?: { expiration?: Date }) =>
    c?.expiration !== undefined && c.expiration.getTime() - Date.now() < 300_000;
