/**
 * The emulator the deploy suites run against: how tests/helpers/moto.ts finds or sets up moto and the AWS CLI
 * (tests/helpers/moto-provision.ts), and the trust-policy correction of tests/helpers/moto_server.py (section 8).
 *
 * What runs for real: the search and the Debian set-up on a machine with the source copy (this one), the
 * virtualenv's creation and pip's failure against an unreachable index, and every trust case against a moto
 * started by startMoto(). What cannot run here: a successful `pip install` of requirements-moto.txt (PyPI is
 * unreachable); its commands, marker file and messages are checked with a recording runner instead.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
    CreateAccessKeyCommand,
    CreateRoleCommand,
    CreateUserCommand,
    IAMClient,
    PutRolePolicyCommand,
    PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import type { AwsCredentialIdentity } from "@smithy/types";
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Moto, MotoRuntime, resolveMoto, sourceCandidates, startMoto } from "./moto";
import {
    Command,
    CommandResult,
    DEBIAN_PACKAGES,
    DEFAULT_VENV,
    planVenv,
    provisionDebian,
    provisionVenv,
    REQUIREMENTS,
    runCommand,
    sha256,
    venvBasePython,
} from "./moto-provision";

/** A runner that records each command and answers from `answer` (status 0, no output, unless it says otherwise). */
function recorder(answer: (c: Command) => Partial<CommandResult> | undefined = () => undefined) {
    const commands: string[] = [];
    const run = (c: Command): CommandResult => {
        commands.push([c.program, ...c.args].join(" "));
        return { status: 0, stdout: "", output: "", ...answer(c) };
    };
    return { commands, run };
}

describe("moto: finding or setting up the emulator", () => {
    let scratch: string;
    beforeEach(() => (scratch = mkdtempSync(join(tmpdir(), "moto-provision-"))));
    afterEach(() => rmSync(scratch, { recursive: true, force: true }));

    describe("where PATH has no usable moto", () => {
        const [sourceCopy] = sourceCandidates();
        let runtime: MotoRuntime;
        const lines: string[] = [];

        before(function () {
            this.timeout(15 * 60_000); // the first time on a machine, apt-get or pip install
            // PATH's python3 is the system's, without moto's dependencies until Debian's packages are in. Where a
            // source copy exists (this machine) the search is pointed at it; elsewhere (CodeBuild, GitHub) the
            // virtualenv is the way, which loading moto.ts has built (or found built) already.
            const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: process.env.HOME, ...(sourceCopy && { MOTO_SOURCE: sourceCopy }) };
            runtime = resolveMoto({ env, log: (line) => lines.push(line) });
        });

        it("runs the source copy with Debian's python3 and AWS CLI where a copy exists, else the virtualenv's moto and CLI", () => {
            if (sourceCopy) {
                expect(runtime).to.include({ python: "/usr/bin/python3", source: sourceCopy, aws: "/usr/bin/aws" });
                if (lines.length)
                    expect(lines[0]).to.contain(`apt-get install -y -qq -o DPkg::Lock::Timeout=300 ${DEBIAN_PACKAGES.join(" ")}`);
            } else {
                expect(runtime).to.include({ python: join(DEFAULT_VENV, "bin", "python"), aws: join(DEFAULT_VENV, "aws-cli", "aws") });
                expect(runtime.awsVersion).to.equal("aws-cli/1.45.11");
            }
            expect(runtime.version).to.match(/^5\.2\./);
            expect(runtime.awsVersion).to.match(/^aws-cli\/\d+\.\d+\.\d+$/);
        });

        it("starts that moto", async function () {
            this.timeout(120_000);
            const moto = await startMoto({ runtime });
            try {
                const banner = moto.log().split("\n")[0];
                expect(banner).to.match(/^moto 5\.2\.\S+ from /);
                expect(banner).to.contain(runtime.source ? join(runtime.source, "moto") : DEFAULT_VENV);
            } finally {
                await moto.stop();
            }
        });
    });

    describe("the virtualenv (.cache/moto-venv)", () => {
        it("is built by `python3 -m venv --clear` and a pip install of the pinned requirements", () => {
            const dir = join(scratch, "venv");
            const plan = planVenv({ dir, requirements: REQUIREMENTS, basePython: "python3.12", env: {} });
            expect(plan.upToDate).to.equal(false);
            expect(plan.commands.map((c) => [c.program, ...c.args].join(" "))).to.deep.equal([
                `python3.12 -m venv --clear ${dir}`,
                `${dir}/bin/python -m pip install --timeout 15 --retries 1 --progress-bar off -r ${REQUIREMENTS}`,
            ]);
            expect(plan.commands[1].env).to.include({ PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" });
        });

        it("pins every package exactly, moto[server] 5.2.x and awscli v1 among them", () => {
            const pins = readFileSync(REQUIREMENTS, "utf8")
                .split("\n")
                .filter((line) => line && !line.startsWith("#"));
            expect(pins.filter((line) => !/^[A-Za-z0-9._-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*$/.test(line))).to.deep.equal([]);
            expect(pins).to.include.members(["moto[server]==5.2.1", "awscli==1.45.11", "botocore==1.43.11", "boto3==1.43.11"]);
        });

        it("is built once: the marker holds the requirements' SHA-256, and a built venv runs no command", () => {
            const dir = join(scratch, "venv");
            const { commands, run } = recorder((c) => {
                if (c.args.includes("venv")) {
                    mkdirSync(join(dir, "bin"), { recursive: true });
                    writeFileSync(join(dir, "bin", "python"), "");
                }
                return c.args[0] === "-c" ? { stdout: "3.11\n" } : undefined;
            });
            const lines: string[] = [];
            const built = provisionVenv(dir, { env: { PATH: "/usr/bin" }, run, log: (line) => lines.push(line) });
            expect(commands).to.deep.equal([
                "python3 -c import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])",
                `python3 -m venv --clear ${dir}`,
                `${dir}/bin/python -m pip install --timeout 15 --retries 1 --progress-bar off -r ${REQUIREMENTS}`,
            ]);
            expect(readFileSync(join(dir, ".requirements.sha256"), "utf8")).to.equal(`${sha256(REQUIREMENTS)}\n`);
            expect(readlinkSync(join(dir, "aws-cli", "aws"))).to.equal(join("..", "bin", "aws"));
            expect(built.upToDate).to.equal(true);
            expect(lines[0]).to.equal(`creating a virtualenv for moto in ${dir}: python3 -m venv --clear ${dir}`);
            expect(lines[1]).to.match(
                /^installing tests\/helpers\/requirements-moto\.txt \(moto\[server\], awscli v1, every dependency pinned\): /,
            );
            expect(lines[2]).to.match(/^virtualenv ready in \d+\.\d s$/);

            commands.length = 0;
            expect(provisionVenv(dir, { env: {}, run, log: (line) => lines.push(line) }).upToDate).to.equal(true);
            expect(commands).to.deep.equal([]);
            expect(lines).to.have.length(3);
        });

        it("is rebuilt when the requirements file changes", () => {
            const dir = join(scratch, "venv");
            const requirements = join(scratch, "requirements.txt");
            writeFileSync(requirements, "moto[server]==5.2.1\n");
            mkdirSync(join(dir, "bin"), { recursive: true });
            writeFileSync(join(dir, "bin", "python"), "");
            writeFileSync(join(dir, ".requirements.sha256"), `${sha256(requirements)}\n`);
            expect(planVenv({ dir, requirements, basePython: "python3", env: {} }).upToDate).to.equal(true);
            writeFileSync(requirements, "moto[server]==5.2.2\n");
            expect(planVenv({ dir, requirements, basePython: "python3", env: {} }).commands).to.have.length(2);
        });

        it("fails in seconds with what to do when pip cannot reach an index, and leaves no half-built venv", function () {
            this.timeout(120_000);
            const dir = join(scratch, "venv");
            // a real venv and a real pip, against an index nobody listens on (this machine's pip settings left out)
            const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PIP_CONFIG_FILE: "/dev/null" };
            env.PIP_INDEX_URL = "http://127.0.0.1:9/simple";
            const started = Date.now();
            expect(() => provisionVenv(dir, { env, run: runCommand, log: () => undefined }))
                .to.throw(Error)
                .with.property("message")
                .that.contains(
                    "pip could not reach a package index for tests/helpers/requirements-moto.txt: this needs PyPI, or a mirror of it " +
                        "in PIP_INDEX_URL (or pip.conf). Without one: put a copy of moto's source in shared/vendor/moto beside the checkout",
                )
                .and.contains(`apt-get install -y ${DEBIAN_PACKAGES.join(" ")}`)
                .and.contains("pip said:\n");
            expect(Date.now() - started).to.be.below(60_000);
            expect(existsSync(dir)).to.equal(false);
        });

        it("needs a python3 from 3.11 to 3.14 with the venv module, and says which it found instead", () => {
            const { run } = recorder((c) =>
                c.program === "python3" ? { stdout: "3.9\n" } : { status: 1, output: "ModuleNotFoundError: No module named 'ensurepip'\n" },
            );
            expect(() => venvBasePython({}, run)).to.throw(
                "no python3 from 3.11 to 3.14 with the venv module on PATH (python3: Python 3.9; python3.14: ModuleNotFoundError: No module " +
                    "named 'ensurepip'; python3.13: ModuleNotFoundError: No module named 'ensurepip'; python3.12: ModuleNotFoundError: No " +
                    "module named 'ensurepip'; python3.11: ModuleNotFoundError: No module named 'ensurepip'). On CodeBuild: " +
                    "runtime-versions python: 3.11; Debian: apt-get install python3-venv",
            );
        });
    });

    describe("Debian's packages for the source copy", () => {
        it("are installed with apt-get as root, after an apt-get update if the first try fails", () => {
            let installs = 0;
            const { commands, run } = recorder((c) => (c.args[0] === "install" && installs++ === 0 ? { status: 100 } : undefined));
            provisionDebian("/src/moto", { env: {}, run, log: () => undefined }, true);
            const install = `apt-get install -y -qq -o DPkg::Lock::Timeout=300 ${DEBIAN_PACKAGES.join(" ")}`;
            expect(commands).to.deep.equal(["apt-get --version", install, "apt-get update -qq", install]);
            expect(DEBIAN_PACKAGES).to.include.members(["python3-boto3", "python3-flask", "awscli"]);
        });

        it("are not installed by anyone but root, and the error says what to install", () => {
            const { commands, run } = recorder();
            expect(() => provisionDebian("/src/moto", { env: {}, run, log: () => undefined }, false)).to.throw(
                `Debian packages for the moto source at /src/moto: not root: as root, apt-get install -y ${DEBIAN_PACKAGES.join(" ")}`,
            );
            expect(commands).to.deep.equal([]);
        });
    });

    it("tries Debian's packages first where a source copy exists, then the virtualenv, and reports both", () => {
        const { commands, run } = recorder((c) => {
            if (c.args[0] === "-c" && c.args[1].startsWith("import sys, venv")) return { stdout: "3.11\n" };
            if (c.args.includes("venv")) return undefined;
            if (c.args.includes("pip")) return { status: 1, output: "ERROR: No matching distribution found for annotated-types==0.7.0\n" };
            return { status: 1, output: "ModuleNotFoundError: No module named 'boto3'\n" }; // every moto probe and `aws`
        });
        const source = join(scratch, "moto-source"); // what the search recognises as a source copy
        mkdirSync(join(source, "moto"), { recursive: true });
        writeFileSync(join(source, "moto", "server.py"), "");
        const env = { PATH: scratch, MOTO_SOURCE: source };
        expect(() => resolveMoto({ env, venvDir: join(scratch, "venv"), run, log: () => undefined, isRoot: false }))
            .to.throw(Error)
            .with.property("message")
            .that.matches(
                /^moto 5\.2\.x \(the AWS emulator the deploy suites run against\) or the AWS CLI was not found, and could not be set up\./,
            )
            .and.contains(`python3 with ${source}: ModuleNotFoundError: No module named 'boto3'`)
            .and.contains(`\nDebian packages: Debian packages for the moto source at ${source}: not root: as root, apt-get install -y`)
            .and.contains("\nvirtualenv: pip could not reach a package index for tests/helpers/requirements-moto.txt");
        expect(commands.filter((c) => c.startsWith("apt-get"))).to.deep.equal([]);
        expect(commands.filter((c) => c.includes(" -m "))).to.deep.equal([
            `python3 -m venv --clear ${join(scratch, "venv")}`,
            `${join(scratch, "venv")}/bin/python -m pip install --timeout 15 --retries 1 --progress-bar off -r ${REQUIREMENTS}`,
        ]);
    });
});

// ---- trust policies (moto_server.py, section 8) ------------------------------------------------------------------

const X = "111111111111";
const Y = "333333333333";
const REGION = "us-east-1";
const ADMIN = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
const roleArn = (account: string, name: string, path = "/") => `arn:aws:iam::${account}:role${path}${name}`;
const trust = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const rootOf = (account: string) => ({ AWS: `arn:aws:iam::${account}:root` });

describe("moto: trust policies on sts:AssumeRole", function () {
    this.timeout(120_000);
    let moto: Moto;
    let admin: { [account: string]: AwsCredentialIdentity };
    let sessionA: AwsCredentialIdentity;
    let sessionB: AwsCredentialIdentity;
    let organizationId: string;
    const clients: { destroy(): void }[] = [];

    function sts(credentials: AwsCredentialIdentity): STSClient {
        const client = new STSClient({ endpoint: moto.url, region: REGION, credentials, maxAttempts: 1 });
        clients.push(client);
        return client;
    }

    /** Assumes `role` with `credentials`: the session's caller ARN, or the refusal's message. */
    async function assume(credentials: AwsCredentialIdentity, role: string, externalId?: string): Promise<string> {
        try {
            const { Credentials: c } = await sts(credentials).send(
                new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "trust-test", ExternalId: externalId }),
            );
            const session = { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
            return (await sts(session).send(new GetCallerIdentityCommand({}))).Arn!;
        } catch (error) {
            return `${(error as Error).name}: ${(error as Error).message}`;
        }
    }

    /** Before access control is on, moto takes the account from this header (moto/core/responses.py). */
    function inAccount(account: string): IAMClient {
        const iam = new IAMClient({ endpoint: moto.url, region: REGION, credentials: { accessKeyId: "setup", secretAccessKey: "setup" } });
        iam.middlewareStack.add(
            (next: any) => (args: any) => {
                args.request.headers["x-moto-account-id"] = account;
                return next(args);
            },
            { step: "build", name: "motoAccount" },
        );
        clients.push(iam);
        return iam;
    }

    async function createAdministrator(account: string): Promise<AwsCredentialIdentity> {
        const iam = inAccount(account);
        await iam.send(new CreateUserCommand({ UserName: "administrator" }));
        await iam.send(new PutUserPolicyCommand({ UserName: "administrator", PolicyName: "admin", PolicyDocument: JSON.stringify(ADMIN) }));
        const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "administrator" }));
        return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    }

    async function createRole(account: string, name: string, trustPolicy: string, path = "/"): Promise<void> {
        const iam = inAccount(account);
        await iam.send(new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: trustPolicy }));
        await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "admin", PolicyDocument: JSON.stringify(ADMIN) }));
    }

    /** moto's Organizations API (JSON protocol): no SDK client for it in this project. */
    async function organizations(account: string, action: string, body: object): Promise<any> {
        const res = await fetch(moto.url, {
            method: "POST",
            headers: {
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": `AWSOrganizationsV20161128.${action}`,
                "x-moto-account-id": account,
                // moto's server picks the service from the credential scope
                authorization: `AWS4-HMAC-SHA256 Credential=setup/20260101/${REGION}/organizations/aws4_request, SignedHeaders=host, Signature=0`,
            },
            body: JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`organizations ${action}: HTTP ${res.status} ${await res.text()}`);
        return res.json();
    }

    const sessionCredentials = async (credentials: AwsCredentialIdentity, role: string) => {
        const { Credentials: c } = await sts(credentials).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "trust-test" }));
        return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
    };

    before(async () => {
        moto = await startMoto();
        admin = { [X]: await createAdministrator(X), [Y]: await createAdministrator(Y) };
        organizationId = (await organizations(X, "CreateOrganization", { FeatureSet: "ALL" })).Organization.Id;

        // roles A (path /team/) and B in X, each with an administrator's identity policy; X's principals may assume them
        await createRole(X, "A", trust({ Effect: "Allow", Principal: rootOf(X), Action: "sts:AssumeRole" }), "/team/");
        await createRole(X, "B", trust({ Effect: "Allow", Principal: rootOf(X), Action: "sts:AssumeRole" }));
        // T: X's root, but only role A (the deploy role's trust in this project)
        const onlyA = { ArnEquals: { "aws:PrincipalArn": roleArn(X, "A", "/team/") } };
        await createRole(X, "T", trust({ Effect: "Allow", Principal: rootOf(X), Action: "sts:AssumeRole", Condition: onlyA }));
        // W: X's root, with A denied explicitly
        await createRole(
            X,
            "W",
            trust(
                { Effect: "Allow", Principal: rootOf(X), Action: "sts:AssumeRole" },
                {
                    Effect: "Deny",
                    Principal: { AWS: "*" },
                    Action: "sts:*",
                    Condition: { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/team/*" } },
                },
            ),
        );
        // N: X's root but not B; aws:SourceAccount only if present (a direct call has none)
        await createRole(
            X,
            "N",
            trust({
                Effect: "Allow",
                Principal: { AWS: X },
                Action: "sts:AssumeRole",
                Condition: { StringNotEquals: { "aws:PrincipalArn": roleArn(X, "B") }, StringEqualsIfExists: { "aws:SourceAccount": X } },
            }),
        );
        // E in Y: X's principals with the external ID
        await createRole(
            Y,
            "E",
            trust({
                Effect: "Allow",
                Principal: rootOf(X),
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": "x-7f3a" } },
            }),
        );
        // O in Y: anyone of X's organization
        await createRole(
            Y,
            "O",
            trust({
                Effect: "Allow",
                Principal: { AWS: "*" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:PrincipalOrgID": organizationId } },
            }),
        );
        // S in X: CodeBuild acting for X (this project's service trust); L: Lambda, no condition
        await createRole(
            X,
            "S",
            trust({
                Effect: "Allow",
                Principal: { Service: "codebuild.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": X } },
            }),
        );
        await createRole(X, "L", trust({ Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com"] }, Action: ["sts:AssumeRole"] }));
        // M: a trust policy that is not JSON (CreateRole takes it; UpdateAssumeRolePolicy would not); Z: no statement
        await createRole(X, "M", "{not json");
        await createRole(X, "Z", JSON.stringify({ Version: "2012-10-17", Statement: [] }));

        // before access control is on, as the suites' set-up does: trust is not checked yet, B may assume T
        expect(await assume(admin[X], roleArn(X, "B"))).to.equal(`arn:aws:sts::${X}:assumed-role/B/trust-test`);
        expect(await assume(admin[X], roleArn(X, "T"))).to.equal(`arn:aws:sts::${X}:assumed-role/T/trust-test`);
        await moto.enforceIam();
        sessionA = await sessionCredentials(admin[X], roleArn(X, "A", "/team/"));
        sessionB = await sessionCredentials(admin[X], roleArn(X, "B"));
    });

    after(async () => {
        for (const client of clients) client.destroy();
        await moto?.stop();
    });

    const refusal = (principal: string, role: string) =>
        `AccessDenied: User: ${principal} is not authorized to perform: sts:AssumeRole on resource: ${role}`;
    const denialLogged = (principal: string, role: string, reason: string) =>
        `moto-iam: denied ${principal} sts:AssumeRole ${role} (trust policy): ${reason}\n`;

    it("lets role A assume a role whose trust names A by aws:PrincipalArn (with A's path)", async () => {
        expect(await assume(sessionA, roleArn(X, "T"))).to.equal(`arn:aws:sts::${X}:assumed-role/T/trust-test`);
    });

    it("refuses role B of the same account, whose identity policy allows everything", async () => {
        const b = `arn:aws:sts::${X}:assumed-role/B/trust-test`;
        expect(await assume(sessionB, roleArn(X, "T"))).to.equal(refusal(b, roleArn(X, "T")));
        expect(await moto.logHolding([denialLogged(b, roleArn(X, "T"), "no statement allows it")])).to.contain(
            denialLogged(b, roleArn(X, "T"), "no statement allows it"),
        );
    });

    it("refuses an administrator of another account", async () => {
        const y = `arn:aws:iam::${Y}:user/administrator`;
        expect(await assume(admin[Y], roleArn(X, "T"))).to.equal(refusal(y, roleArn(X, "T")));
        expect(await moto.logHolding([denialLogged(y, roleArn(X, "T"), "no statement allows it")])).to.contain(
            denialLogged(y, roleArn(X, "T"), "no statement allows it"),
        );
    });

    it("lets an explicit Deny win over an Allow", async () => {
        expect(await assume(sessionB, roleArn(X, "W"))).to.equal(`arn:aws:sts::${X}:assumed-role/W/trust-test`);
        const a = `arn:aws:sts::${X}:assumed-role/A/trust-test`;
        expect(await assume(sessionA, roleArn(X, "W"))).to.equal(refusal(a, roleArn(X, "W")));
        expect(await moto.logHolding([denialLogged(a, roleArn(X, "W"), "a statement denies it")])).to.contain(
            denialLogged(a, roleArn(X, "W"), "a statement denies it"),
        );
    });

    it("evaluates a negated operator and ...IfExists on a key a direct call does not have", async () => {
        expect(await assume(sessionA, roleArn(X, "N"))).to.equal(`arn:aws:sts::${X}:assumed-role/N/trust-test`);
        expect(await assume(sessionB, roleArn(X, "N"))).to.equal(refusal(`arn:aws:sts::${X}:assumed-role/B/trust-test`, roleArn(X, "N")));
    });

    it("takes sts:ExternalId from the request, across accounts", async () => {
        const x = `arn:aws:iam::${X}:user/administrator`;
        expect(await assume(admin[X], roleArn(Y, "E"), "x-7f3a")).to.equal(`arn:aws:sts::${Y}:assumed-role/E/trust-test`);
        expect(await assume(admin[X], roleArn(Y, "E"), "guess")).to.equal(refusal(x, roleArn(Y, "E")));
        expect(await assume(admin[X], roleArn(Y, "E"))).to.equal(refusal(x, roleArn(Y, "E")));
    });

    it("takes aws:PrincipalOrgID from moto's Organizations: the organization's account is in, another is not", async () => {
        expect(await assume(admin[X], roleArn(Y, "O"))).to.equal(`arn:aws:sts::${Y}:assumed-role/O/trust-test`);
        expect(await assume(admin[Y], roleArn(Y, "O"))).to.equal(refusal(`arn:aws:iam::${Y}:user/administrator`, roleArn(Y, "O")));
    });

    it("refuses a trust policy it cannot read, one without statements, and a role that does not exist", async () => {
        const x = `arn:aws:iam::${X}:user/administrator`;
        for (const role of ["M", "Z", "nobody"]) expect(await assume(admin[X], roleArn(X, role))).to.equal(refusal(x, roleArn(X, role)));
        const expected = [
            denialLogged(x, roleArn(X, "M"), "the trust policy cannot be evaluated: it is not JSON"),
            denialLogged(x, roleArn(X, "Z"), "the trust policy cannot be evaluated: it has no Statement"),
            denialLogged(x, roleArn(X, "nobody"), "the role does not exist"),
        ];
        const log = await moto.logHolding(expected);
        for (const line of expected) expect(log).to.contain(line);
    });

    describe("a service assuming a role (POST /moto-api/assume-role-as-service)", () => {
        it("gives CodeBuild, acting for the right account, a session of the role", async () => {
            const session = await moto.assumeRoleAsService({
                service: "codebuild.amazonaws.com",
                roleArn: roleArn(X, "S"),
                sessionName: "AWSCodeBuild-build-1",
                sourceAccount: X,
            });
            expect(session.arn).to.equal(`arn:aws:sts::${X}:assumed-role/S/AWSCodeBuild-build-1`);
            expect(session.expiration.getTime()).to.be.within(Date.now() + 3500_000, Date.now() + 3700_000);
            expect((await sts(session).send(new GetCallerIdentityCommand({}))).Arn).to.equal(session.arn);
        });

        it("refuses CodeBuild acting for another account, or for none", async () => {
            for (const sourceAccount of [Y, undefined]) {
                const answer = moto.assumeRoleAsService({
                    service: "codebuild.amazonaws.com",
                    roleArn: roleArn(X, "S"),
                    sessionName: "b-1",
                    sourceAccount,
                });
                await expectRejection(
                    answer,
                    `codebuild.amazonaws.com may not assume ${roleArn(X, "S")} (HTTP 403): codebuild.amazonaws.com is not authorized to ` +
                        `perform: sts:AssumeRole on resource: ${roleArn(X, "S")}: no statement allows it`,
                );
            }
            expect(await moto.logHolding([denialLogged("codebuild.amazonaws.com", roleArn(X, "S"), "no statement allows it")])).to.contain(
                denialLogged("codebuild.amazonaws.com", roleArn(X, "S"), "no statement allows it"),
            );
        });

        it("refuses a service the role does not trust, and lets the trusted one in", async () => {
            await expectRejection(
                moto.assumeRoleAsService({
                    service: "lambda.amazonaws.com",
                    roleArn: roleArn(X, "S"),
                    sessionName: "fn",
                    sourceAccount: X,
                }),
                `lambda.amazonaws.com may not assume ${roleArn(X, "S")} (HTTP 403): lambda.amazonaws.com is not authorized to perform: ` +
                    `sts:AssumeRole on resource: ${roleArn(X, "S")}: no statement allows it`,
            );
            const fn = await moto.assumeRoleAsService({
                service: "lambda.amazonaws.com",
                roleArn: roleArn(X, "L"),
                sessionName: "products-api",
            });
            expect(fn.arn).to.equal(`arn:aws:sts::${X}:assumed-role/L/products-api`);
        });

        it("answers 400 with every problem of a bad request", async () => {
            await expectRejection(
                moto.assumeRoleAsService({ service: "lambda", roleArn: "arn:aws:iam::1:user/u", sessionName: "x", sourceAccount: "12" }),
                "lambda may not assume arn:aws:iam::1:user/u (HTTP 400): service must be a service principal, e.g. lambda.amazonaws.com; " +
                    "roleArn must be a role ARN; sessionName must be 2-64 characters of [\\w+=,.@-]; sourceAccount must be a 12-digit account ID",
            );
        });
    });
});

async function expectRejection(promise: Promise<unknown>, message: string): Promise<void> {
    const outcome = await promise.then(
        () => "resolved",
        (error: Error) => error.message,
    );
    expect(outcome).to.equal(message);
}
