// Gives the kit a target account: an AWS config profile that *says how* to get the role's credentials
//   role_arn = <role>, credential_source = EcsContainer (the CodeBuild project's role)
// and lets the AWS CLI and SDKs assume the role themselves, caching and refreshing the session (role chaining caps
// it at one hour; a longer deploy simply re-assumes). No credential ever passes through the kit (the blog sample
// called AssumeRole itself, exported the keys and traced them into the build log). The profile is proven before use:
// the assumed identity must be a session of exactly that role, in exactly the expected account.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { accountIdProblem, regionProblem, roleArnProblem } from "../components/identifiers";
import { aws } from "./aws-cli";

export type CredentialSource = "EcsContainer" | "Ec2InstanceMetadata" | "Environment";
const CREDENTIAL_SOURCES: readonly CredentialSource[] = ["EcsContainer", "Ec2InstanceMetadata", "Environment"];

export interface RoleProfile {
    /** Profile name, e.g. `target-deploy`. */
    readonly profile: string;
    readonly roleArn: string;
    /** The account the role must be in, and the session must land in. */
    readonly accountId: string;
    readonly region: string;
    /** Shows in the target's CloudTrail: which build did what. */
    readonly sessionName: string;
}

const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Problems with a profile request, before anything is written or called. */
export function roleProfileProblems(request: RoleProfile, env: NodeJS.ProcessEnv = process.env): string[] {
    const problems = [
        PROFILE_NAME.test(request.profile) ? undefined : `profile name ${JSON.stringify(request.profile)} is not valid`,
        accountIdProblem("account", request.accountId),
        regionProblem("region", request.region),
        roleArnProblem("role", request.roleArn, request.accountId),
    ].filter((p): p is string => p !== undefined);
    const source = credentialSource(env);
    if (!CREDENTIAL_SOURCES.includes(source as CredentialSource)) {
        problems.push(`DEPLOY_CREDENTIAL_SOURCE must be ${CREDENTIAL_SOURCES.join(", ")}; got ${JSON.stringify(source)}`);
    } else if (source === "EcsContainer" && !env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI && !env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
        problems.push(
            "credential_source EcsContainer needs the container credentials endpoint CodeBuild provides " +
                "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI unset); outside CodeBuild set DEPLOY_CREDENTIAL_SOURCE",
        );
    }
    const duration = sessionDuration(env);
    if (!(Number.isInteger(duration) && duration >= 900 && duration <= 3600)) {
        problems.push(
            `DEPLOY_SESSION_DURATION_SECONDS must be 900..3600 (role chaining caps sessions at one hour); got ${JSON.stringify(env.DEPLOY_SESSION_DURATION_SECONDS)}`,
        );
    }
    return problems;
}

const credentialSource = (env: NodeJS.ProcessEnv) => env.DEPLOY_CREDENTIAL_SOURCE ?? "EcsContainer";
const sessionDuration = (env: NodeJS.ProcessEnv) => Number(env.DEPLOY_SESSION_DURATION_SECONDS ?? 3600);
export const configFile = (env: NodeJS.ProcessEnv = process.env) => env.AWS_CONFIG_FILE ?? join(homedir(), ".aws", "config");

/** `[profile <name>]` with its settings: the only text the kit writes about a role. */
export function profileSection(request: RoleProfile, env: NodeJS.ProcessEnv = process.env): string {
    const sessionName = request.sessionName
        .replace(/[^A-Za-z0-9+=,.@_-]/g, "-")
        .slice(0, 64)
        .padEnd(2, "-");
    return [
        `[profile ${request.profile}]`,
        `role_arn = ${request.roleArn}`,
        `credential_source = ${credentialSource(env)}`,
        `role_session_name = ${sessionName}`,
        `duration_seconds = ${sessionDuration(env)}`,
        `region = ${request.region}`,
        "sts_regional_endpoints = regional",
        "",
    ].join("\n");
}

/** Replaces the profile's section in the config text, keeping every other profile. */
export function withProfile(configText: string, section: string, profile: string): string {
    const header = `[profile ${profile}]`;
    let skipping = false;
    const kept = configText.split("\n").filter((line) => {
        if (/^\s*\[/.test(line)) skipping = line.trim() === header;
        return !skipping;
    });
    const rest = kept.join("\n").replace(/\n*$/, "");
    return `${rest === "" ? "" : `${rest}\n`}${section}`;
}

/** Writes the profile (private to the build user), then proves it lands in the role. Returns the session ARN. */
export async function useRoleProfile(request: RoleProfile, env: NodeJS.ProcessEnv = process.env): Promise<string> {
    const problems = roleProfileProblems(request, env);
    if (problems.length > 0) throw new Error(problems.join("; "));
    const file = configFile(env);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const current = existsSync(file) ? readFileSync(file, "utf8") : "";
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, withProfile(current, profileSection(request, env), request.profile), { mode: 0o600 });
    renameSync(temporary, file);

    let identity: { Account?: string; Arn?: string };
    try {
        identity = await aws(["sts", "get-caller-identity"], { profile: request.profile, region: request.region });
    } catch (error) {
        throw new Error(`could not assume ${request.roleArn} through profile ${request.profile}: ${(error as Error).message}`);
    }
    if (identity.Account !== request.accountId) {
        throw new Error(
            `assumed identity ${identity.Arn ?? "?"} is in account ${identity.Account ?? "?"}, expected ${request.accountId}; refusing to go on`,
        );
    }
    const roleName = request.roleArn.split("/").pop();
    const expected = new RegExp(`^arn:aws[a-z-]*:sts::${request.accountId}:assumed-role/${roleName!.replace(/[.+]/g, "\\$&")}/[^/]+$`);
    if (!expected.test(identity.Arn ?? "")) {
        throw new Error(`assumed identity ${identity.Arn ?? "?"} is not a session of ${request.roleArn}; refusing to go on`);
    }
    return identity.Arn!;
}
