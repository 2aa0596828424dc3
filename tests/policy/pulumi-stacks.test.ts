// The policy pack (policy/rules.ts) on the three shipped stacks, evaluated from index.ts under mocks: no
// violation on what the components create, and for every rule a copy of a stack with one property broken
// that gives exactly that rule's violation and nothing else.

import { expect } from "chai";
import { policies, RULE } from "../../policy/rules";
import { policyDocument, RecordedResource } from "../helpers/pulumi-mocks";
import { editDocument, evaluate, PolicyStack, shippedPolicyStacks, stackArgs, Violation, withEdit, without } from "./harness";

const T = {
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    policy: "aws:iam/policy:Policy",
    bucket: "aws:s3/bucket:Bucket",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    key: "aws:kms/key:Key",
    project: "aws:codebuild/project:Project",
    pipeline: "aws:codepipeline/pipeline:Pipeline",
    table: "aws:dynamodb/table:Table",
    fn: "aws:lambda/function:Function",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
};

type StackName = "target" | "tools" | "api" | "targetForPulumi";
interface BadVariant {
    readonly rule: string;
    readonly title: string;
    readonly stack: StackName;
    readonly make: (stack: PolicyStack) => PolicyStack;
    /** Logical names of the resources expected to be reported (one violation each). */
    readonly reported: string[];
    /** Text every violation message contains. */
    readonly says: string;
}

const addStatement = (statement: object) => (p: Record<string, any>) => editDocument(p, "policy", (d) => d.Statement.push(statement));
const editTrust = (edit: (s: any) => void) => (p: Record<string, any>) => editDocument(p, "assumeRolePolicy", (d) => edit(d.Statement[0]));

const BAD: BadVariant[] = [
    // ---- rule 1 ----
    {
        rule: RULE.noWildcardAdmin,
        title: "deploy role policy gains s3:* on *",
        stack: "target",
        make: (s) => withEdit(s, T.rolePolicy, "-deploy-policy", addStatement({ Effect: "Allow", Action: "s3:*", Resource: "*" })),
        reported: ["cross-account-deploy-policy"],
        says: 's3:* on "*"',
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "permissions boundary gains * on *",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.policy,
                "-permissions-boundary",
                addStatement({ Effect: "Allow", Action: ["dynamodb:GetItem", "*"], Resource: ["*"] }),
            ),
        reported: ["cross-account-permissions-boundary"],
        says: "allows * on",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "execution role policy uses NotAction on *",
        stack: "target",
        make: (s) =>
            withEdit(s, T.rolePolicy, "-cfn-execution-policy", addStatement({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })),
        reported: ["cross-account-cfn-execution-policy"],
        says: "NotAction",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "trust policy allows sts:* (to a service principal)",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-cfn-execution-role",
                editTrust((st) => (st.Action = "sts:*")),
            ),
        reported: ["cross-account-cfn-execution-role"],
        says: "the whole resource",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "bucket policy allows s3:* on *",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.bucketPolicy,
                "-tls-only",
                addStatement({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:role/x" }, Action: "s3:*", Resource: "*" }),
            ),
        reported: ["cross-account-deployment-bucket-tls-only"],
        says: "s3:*",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "function role gets an inline policy with * on *",
        stack: "api",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-function-role",
                (p) =>
                    (p.inlinePolicies = [
                        {
                            name: "admin",
                            policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
                        },
                    ]),
            ),
        reported: ["product-api-function-role"],
        says: "inlinePolicies[0].policy",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "key policy: * instead of kms:* for the account root",
        stack: "tools",
        make: (s) => withEdit(s, T.key, "-key", (p) => editDocument(p, "policy", (d) => (d.Statement[0].Action = "*"))),
        reported: ["pipeline-key"],
        says: "key's own account root is exempt",
    },
    {
        rule: RULE.noWildcardAdmin,
        title: "key policy: the default statement for another account's root",
        stack: "tools",
        make: (s) =>
            withEdit(s, T.key, "-key", (p) =>
                editDocument(p, "policy", (d) => (d.Statement[0].Principal = { AWS: "arn:aws:iam::333333333333:root" })),
            ),
        reported: ["pipeline-key"],
        says: "kms:*",
    },
    // ---- rule 2 ----
    {
        rule: RULE.trustPinned,
        title: "deploy role trusts the tools account root without the PrincipalArn condition",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-deploy-role",
                editTrust((st) => delete st.Condition),
            ),
        reported: ["cross-account-deploy-role"],
        says: "without a condition pinning aws:PrincipalArn",
    },
    {
        rule: RULE.trustPinned,
        title: 'deploy role trusts {AWS: "*"}',
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-deploy-role",
                editTrust((st) => (st.Principal = { AWS: "*" })),
            ),
        reported: ["cross-account-deploy-role"],
        says: "every principal",
    },
    {
        rule: RULE.trustPinned,
        title: 'deploy role trusts Principal "*"',
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-deploy-role",
                editTrust((st) => (st.Principal = "*")),
            ),
        reported: ["cross-account-deploy-role"],
        says: "every principal",
    },
    {
        rule: RULE.trustPinned,
        title: "PrincipalArn condition is a wildcard (ArnLike role/*)",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-deploy-role",
                editTrust((st) => (st.Condition = { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/*" } })),
            ),
        reported: ["cross-account-deploy-role"],
        says: "without a condition pinning",
    },
    {
        rule: RULE.trustPinned,
        title: "PrincipalArn pinned to another account's role",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-deploy-role",
                editTrust((st) => (st.Condition = { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::333333333333:role/build" } })),
            ),
        reported: ["cross-account-deploy-role"],
        says: "another account",
    },
    {
        rule: RULE.trustPinned,
        title: "deploy role trusts a bare account ID without a condition",
        stack: "target",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-deploy-role",
                editTrust((st) => ((st.Principal = { AWS: "111111111111" }), delete st.Condition)),
            ),
        reported: ["cross-account-deploy-role"],
        says: "account root 111111111111",
    },
    // ---- rule 3 ----
    {
        rule: RULE.s3Hardened,
        title: "deployment bucket without its encryption configuration",
        stack: "target",
        make: (s) => without(s, T.encryption, "-deployment-bucket-encryption"),
        reported: ["cross-account-deployment-bucket"],
        says: "no default encryption",
    },
    {
        rule: RULE.s3Hardened,
        title: "deployment bucket versioning Suspended",
        stack: "target",
        make: (s) =>
            withEdit(s, T.versioning, "-deployment-bucket-versioning", (p) => (p.versioningConfiguration = { status: "Suspended" })),
        reported: ["cross-account-deployment-bucket"],
        says: "not versioned (Suspended)",
    },
    {
        rule: RULE.s3Hardened,
        title: "deployment bucket public access block leaves restrictPublicBuckets off",
        stack: "target",
        make: (s) => withEdit(s, T.publicAccessBlock, "-deployment-bucket-public-access-block", (p) => (p.restrictPublicBuckets = false)),
        reported: ["cross-account-deployment-bucket"],
        says: "restrictPublicBuckets",
    },
    {
        rule: RULE.s3Hardened,
        title: "deployment bucket without a public access block",
        stack: "target",
        make: (s) => without(s, T.publicAccessBlock, "-deployment-bucket-public-access-block"),
        reported: ["cross-account-deployment-bucket"],
        says: "no public access block",
    },
    {
        rule: RULE.s3Hardened,
        title: "deployment bucket policy denies on SecureTransport true instead of false",
        stack: "target",
        make: (s) =>
            withEdit(s, T.bucketPolicy, "-tls-only", (p) =>
                editDocument(p, "policy", (d) => (d.Statement[0].Condition = { Bool: { "aws:SecureTransport": "true" } })),
            ),
        reported: ["cross-account-deployment-bucket"],
        says: "no TLS-only bucket policy",
    },
    {
        rule: RULE.s3Hardened,
        title: "artifact bucket without its bucket policy",
        stack: "tools",
        make: (s) => without(s, T.bucketPolicy, "pipeline-artifacts-tls-only"),
        reported: ["pipeline-artifacts"],
        says: "no TLS-only bucket policy",
    },
    {
        rule: RULE.s3Hardened,
        title: "artifact bucket policy's TLS deny covers another bucket",
        stack: "tools",
        make: (s) =>
            withEdit(s, T.bucketPolicy, "pipeline-artifacts-tls-only", (p) =>
                editDocument(p, "policy", (d) => (d.Statement[0].Resource = ["arn:aws:s3:::other", "arn:aws:s3:::other/*"])),
            ),
        reported: ["pipeline-artifacts"],
        says: "no TLS-only bucket policy",
    },
    {
        rule: RULE.s3Hardened,
        title: "a bare extra bucket (four controls missing)",
        stack: "tools",
        make: (s) => ({
            name: s.name,
            resources: [
                ...s.resources,
                {
                    type: T.bucket,
                    name: "extra",
                    id: "extra-id",
                    inputs: {},
                    state: { bucket: "extra-abc1234", arn: "arn:aws:s3:::extra-abc1234" },
                } as RecordedResource,
            ],
        }),
        reported: ["extra", "extra", "extra", "extra"],
        says: "bucket extra-abc1234",
    },
    // ---- rules 4-9 ----
    {
        rule: RULE.kmsRotation,
        title: "artifact key without rotation",
        stack: "tools",
        make: (s) => withEdit(s, T.key, "-key", (p) => (p.enableKeyRotation = false)),
        reported: ["pipeline-key"],
        says: "rotation",
    },
    {
        rule: RULE.codebuildPrivileged,
        title: "deploy project in privileged mode",
        stack: "tools",
        make: (s) => withEdit(s, T.project, "-deploy-dev-project", (p) => (p.environment.privilegedMode = true)),
        reported: ["pipeline-deploy-dev-project"],
        says: "privileged mode",
    },
    {
        rule: RULE.codebuildLogs,
        title: "deploy project with CloudWatch logs DISABLED",
        stack: "tools",
        make: (s) => withEdit(s, T.project, "-deploy-dev-project", (p) => (p.logsConfig.cloudwatchLogs.status = "DISABLED")),
        reported: ["pipeline-deploy-dev-project"],
        says: "DISABLED",
    },
    {
        rule: RULE.codebuildLogs,
        title: "deploy project without logsConfig",
        stack: "tools",
        make: (s) => withEdit(s, T.project, "-deploy-dev-project", (p) => delete p.logsConfig),
        reported: ["pipeline-deploy-dev-project"],
        says: "no CloudWatch Logs configuration",
    },
    {
        rule: RULE.pipelineEncrypted,
        title: "artifact store without encryptionKey",
        stack: "tools",
        make: (s) => withEdit(s, T.pipeline, "-pipeline", (p) => delete p.artifactStores[0].encryptionKey),
        reported: ["pipeline-pipeline"],
        says: "no encryptionKey",
    },
    {
        rule: RULE.dynamodbPitr,
        title: "table with point-in-time recovery off",
        stack: "api",
        make: (s) => withEdit(s, T.table, "-table", (p) => (p.pointInTimeRecovery = { enabled: false })),
        reported: ["product-api-table"],
        says: "point-in-time recovery",
    },
    {
        rule: RULE.dynamodbPitr,
        title: "table without a pointInTimeRecovery block",
        stack: "api",
        make: (s) => withEdit(s, T.table, "-table", (p) => delete p.pointInTimeRecovery),
        reported: ["product-api-table"],
        says: "point-in-time recovery",
    },
    {
        rule: RULE.dynamodbDeletionProtection,
        title: "table without deletion protection",
        stack: "api",
        make: (s) => withEdit(s, T.table, "-table", (p) => (p.deletionProtectionEnabled = false)),
        reported: ["product-api-table"],
        says: "deletion protection",
    },
    ...["nodejs16.x", "nodejs20.x", "python3.9"].map((runtime): BadVariant => ({
        rule: RULE.lambdaRuntime,
        title: `function on ${runtime}`,
        stack: "api",
        make: (s) => withEdit(s, T.fn, "-createProduct", (p) => (p.runtime = runtime)),
        reported: ["product-api-createProduct"],
        says: `runtime ${runtime} is deprecated`,
    })),
    {
        rule: RULE.logRetention,
        title: "function log group without retention",
        stack: "api",
        make: (s) => withEdit(s, T.logGroup, "-findProduct-logs", (p) => delete p.retentionInDays),
        reported: ["product-api-findProduct-logs"],
        says: "no retention",
    },
    {
        rule: RULE.logRetention,
        title: "build log group with retention 0 (never expire)",
        stack: "tools",
        make: (s) => withEdit(s, T.logGroup, "-deploy-prod-logs", (p) => (p.retentionInDays = 0)),
        reported: ["pipeline-deploy-prod-logs"],
        says: "no retention",
    },
    // ---- rule 12 ----
    {
        rule: RULE.functionRoleTrust,
        title: "function role (under the boundary) also trusts a role of another account",
        stack: "api",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-function-role",
                editTrust((st) => (st.Principal = { Service: st.Principal.Service, AWS: "arn:aws:iam::333333333333:role/intruder" })),
            ),
        reported: ["product-api-function-role"],
        says: "AWS:arn:aws:iam::333333333333:role/intruder",
    },
    {
        rule: RULE.functionRoleTrust,
        title: "function role trusts CodeBuild instead of Lambda",
        stack: "api",
        make: (s) =>
            withEdit(
                s,
                T.role,
                "-function-role",
                editTrust((st) => (st.Principal = { Service: "codebuild.amazonaws.com" })),
            ),
        reported: ["product-api-function-role"],
        says: "trusts only lambda.amazonaws.com",
    },
];

const summary = (violations: Violation[]) => violations.map((v) => `${v.policy} @ ${v.resource}: ${v.message}`);

describe("policy pack on the shipped stacks (index.ts under mocks)", () => {
    let stacks: Record<StackName, PolicyStack>;

    before(async () => {
        stacks = await shippedPolicyStacks();
    });

    for (const name of ["target", "tools", "api", "targetForPulumi"] as const) {
        it(`${name} stack: no violation`, async () => {
            expect(summary(await evaluate(stacks[name]))).to.deep.equal([]);
        });
    }

    it("the stacks give every rule something to check", () => {
        const types = new Set(Object.values(stacks).flatMap((s) => s.resources.map((r) => r.type)));
        for (const type of Object.values(T)) expect(types, type).to.include(type);
        // Both buckets have their four companions: the S3 rule correlates through property dependencies.
        for (const [stack, bucket] of [
            ["target", "cross-account-deployment-bucket"],
            ["tools", "pipeline-artifacts"],
        ] as const) {
            const args = stackArgs(stacks[stack]);
            const companions = args.resources.filter((r) =>
                (r.propertyDependencies.bucket ?? []).some((d) => d.name === bucket && d.type === T.bucket),
            );
            expect(companions.map((r) => r.type)).to.include.members([T.encryption, T.versioning, T.publicAccessBlock, T.bucketPolicy]);
        }
    });

    it("has a bad variant for every rule", () => {
        expect([...new Set(BAD.map((b) => b.rule))].sort()).to.deep.equal(policies.map((p) => p.name).sort());
    });

    describe("bad variants give exactly their rule's violation", () => {
        for (const bad of BAD) {
            it(`${bad.rule}: ${bad.title}`, async () => {
                const violations = await evaluate(bad.make(stacks[bad.stack]));
                expect(
                    violations.map((v) => `${v.policy} @ ${v.resource}`),
                    summary(violations).join("\n"),
                ).to.deep.equal(bad.reported.map((r) => `${bad.rule} @ ${r}`));
                for (const v of violations) expect(v.message).to.include(bad.says);
            });
        }
    });

    describe("S3 rule during a preview (bucket names, ARNs and the policy text not known yet)", () => {
        // The engine hands policies props through @pulumi/policy's unknownCheckingProxy; unknown values are sentinels.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const proxy = require("@pulumi/policy/proxy") as {
            unknownCheckingProxy<T>(p: T): T;
            unknownStringValue: string;
            UnknownValueError: Function;
        };
        const s3Rule = policies.find((p) => p.name === RULE.s3Hardened)!;
        const previewOf = (stack: PolicyStack) =>
            stackArgs(stack, (props, r) => {
                const unknown = { ...props };
                if (r.type === T.bucket)
                    Object.assign(unknown, {
                        id: proxy.unknownStringValue,
                        bucket: proxy.unknownStringValue,
                        arn: proxy.unknownStringValue,
                    });
                if ("bucket" in unknown && r.type !== T.bucket) unknown.bucket = proxy.unknownStringValue;
                if (r.type === T.bucketPolicy) unknown.policy = proxy.unknownStringValue;
                return proxy.unknownCheckingProxy(unknown);
            });
        const run = async (stack: PolicyStack) => {
            const reported: string[] = [];
            let deferred: unknown;
            try {
                await (s3Rule as any).validateStack(previewOf(stack), (m: string) => reported.push(m));
            } catch (e) {
                deferred = e;
            }
            return { reported, deferred };
        };

        it("finds each bucket's settings through property dependencies and defers only the TLS policy", async () => {
            const { reported, deferred } = await run(stacks.target);
            expect(reported).to.deep.equal([]);
            // The framework turns this into an advisory "can't run policy … during preview" note.
            expect(deferred).to.be.instanceOf(proxy.UnknownValueError);
            expect((deferred as Error).message).to.include(".policy");
        });

        it("still reports what it can see (a missing public access block)", async () => {
            const { reported } = await run(without(stacks.target, T.publicAccessBlock, "-deployment-bucket-public-access-block"));
            expect(reported).to.have.length(1);
            expect(reported[0]).to.include("no public access block");
        });
    });

    it("iam-bounded-role-trusts-lambda-only: a role without a permissions boundary may trust another service", async () => {
        // The api stack's function role trusts lambda.amazonaws.com under a boundary; the same role without the
        // boundary (not a function role) trusting CodeBuild is none of this rule's business.
        const fnRole = stacks.api.resources.find((r) => r.type === T.role && r.name.endsWith("-function-role"))!;
        expect(fnRole.inputs.permissionsBoundary, "the shipped function role carries the boundary").to.not.equal(undefined);
        const unbounded = withEdit(stacks.api, T.role, "-function-role", (p) => {
            delete p.permissionsBoundary;
            editDocument(p, "assumeRolePolicy", (d) => (d.Statement[0].Principal = { Service: "codebuild.amazonaws.com" }));
        });
        expect(summary(await evaluate(unbounded))).to.deep.equal([]);
    });

    it("reads policy documents given as JSON text like those given as objects", async () => {
        // The artifact key's policy is JSON text, the roles' documents objects: turn a role's into text and break it.
        const asText = withEdit(
            stacks.target,
            T.rolePolicy,
            "-deploy-policy",
            (p) => (p.policy = JSON.stringify(policyDocument(p.policy))),
        );
        expect(await evaluate(asText)).to.deep.equal([]);
        const broken = withEdit(asText, T.rolePolicy, "-deploy-policy", addStatement({ Effect: "Allow", Action: "iam:*", Resource: "*" }));
        expect((await evaluate(broken)).map((v) => v.policy)).to.deep.equal([RULE.noWildcardAdmin]);
    });
});
