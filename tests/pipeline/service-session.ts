/**
 * Sessions of roles as AWS services get them (CodeBuild for a project's service role, Lambda for a function's
 * execution role), from moto: Moto.assumeRoleAsService (tests/helpers/moto.ts, POST
 * /moto-api/assume-role-as-service of tests/helpers/moto_server.py) evaluates the role's trust policy for that
 * Service principal, with aws:SourceAccount and aws:SourceArn, and answers moto-issued credentials of the role, or
 * refuses with the reason. The engine takes this as an injectable `CredentialsFor`.
 */
import type { Moto } from "../helpers/moto";
import { CredentialsFor, SessionCredentials } from "./pulumi-shapes";

/**
 * `CredentialsFor` of one service acting for resources of `account` (aws:SourceAccount): each role's session for
 * a resource is asked for once and reused until five minutes before it expires, as the services do.
 */
export function serviceCredentials(
    moto: Pick<Moto, "assumeRoleAsService">,
    service: string,
    source: { account?: string; sessionName?: string } = {},
): CredentialsFor {
    const sessions = new Map<string, Promise<SessionCredentials>>();
    return async (roleArn, sourceArn) => {
        const key = `${roleArn} ${sourceArn}`;
        const cached = sessions.get(key);
        if (cached && (await cached).expiration.getTime() - Date.now() > 300_000) return cached;
        const fresh = moto.assumeRoleAsService({
            service,
            roleArn,
            sessionName: source.sessionName ?? `${service.split(".")[0]}-rehearsal`,
            sourceAccount: source.account,
            sourceArn,
        });
        sessions.set(key, fresh);
        fresh.catch(() => sessions.delete(key));
        return fresh;
    };
}
